"""``/gpu queue`` and the scheduler's reasons in words. Pure: records and numbers in, Block Kit out."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, MarkdownTextObject, PlainTextObject, SectionBlock

from bot.domain import messages as msg
from bot.domain.clipping import clip
from bot.domain.jobs import JobRecord
from bot.domain.scheduling.model import Why
from bot.domain.scheduling.pools import SEP, pool_text
from bot.render.replies import MAX_SECTION, Reply

MAX_ROWS = 40  # rows shown in full; Slack allows 50 blocks and 3000 characters per section
ROWS_PER_SECTION = 8


def why_text(why: Why) -> str:
    """The reason a queued job waits, as shown on its card and in ``/gpu queue``."""
    if SEP in why.gpu_type:  # several clusters: the pool is a (cluster, GPU type), said as such
        why = why._replace(gpu_type=pool_text(why.gpu_type))
    if why.kind == "quota":
        return msg.sched_quota(why.team, why.used, why.quota, why.borrowed, why.gpus, why.gpu_type)
    if why.kind == "idle_only":
        return msg.sched_idle_only(why.team, why.used, why.quota, why.gpus, why.gpu_type, why.borrowed)
    if why.kind == "behind":
        return msg.sched_behind(why.ahead, why.ahead_priority) if why.ahead else msg.sched_needs(
            why.gpus, why.gpu_type, why.free)
    if why.kind == "draining":
        return msg.sched_draining(why.gpus, why.gpu_type)
    return msg.sched_needs(why.gpus, why.gpu_type, why.free)


def queue_row(position: int, r: JobRecord, now: float, mine: bool) -> str:
    gpus = f"{r.gpus} × {r.gpu_type}" + (f" on {r.nodes} nodes" if r.nodes > 1 else "")
    if r.cluster_wanted:  # several clusters, and this job asked for one
        gpus += f" · {msg.on_cluster(r.cluster_wanted)}"
    name = f"*`{r.name}`* :point_left:" if mine else f"`{r.name}`"
    prio = "" if r.priority == "normal" else f" · {r.priority} priority"
    preempted = f" · preempted {r.preemptions}×" if r.preemptions else ""
    start = msg.STARTING_MAKING_ROOM if r.making_room else f"starts {msg.eta_text(r.eta, now)}"
    why = f"\n      _{r.reason}_" if r.reason else ""
    return f"*{position}.* {name} · <@{r.owner}> · {gpus}{prio}{preempted} · {start}{why}"


def queue_reply(ordered: list[JobRecord], asker: str, now: float) -> Reply:
    """The queue in scheduling order; the asker's jobs highlighted, and always shown even when far back."""
    if not ordered:
        return Reply(msg.queue_empty(), [SectionBlock(text=MarkdownTextObject(text=msg.queue_empty()))])
    rows = [(i + 1, r) for i, r in enumerate(ordered)]
    shown = rows[:MAX_ROWS]
    shown += [(p, r) for p, r in rows[MAX_ROWS:] if r.owner == asker][: MAX_ROWS // 4]
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=msg.queue_title(len(ordered))))]
    for i in range(0, len(shown), ROWS_PER_SECTION):
        text = "\n".join(queue_row(p, r, now, r.owner == asker) for p, r in shown[i : i + ROWS_PER_SECTION])
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(text, MAX_SECTION))))
    hidden = len(ordered) - len(shown)
    if hidden > 0:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=msg.queue_more(hidden))]))
    fallback = msg.queue_title(len(ordered))
    return Reply(fallback, blocks)
