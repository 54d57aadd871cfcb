"""The living job card (one per job, updated in place) and the replies in its thread.

Pure Block Kit built with ``slack_sdk.models``; ``rendering.job_card`` delegates here.
"""

from __future__ import annotations

import time

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.domain import messages as msg
from bot.domain.clipping import clip, clip_code
from bot.domain.durations import format_duration, humanize
from bot.domain.jobs import ACTIVE_STATES, FINAL_STATES, RUNNING_STATES, JobRecord
from bot.render.logs import fit_lines

JOB_STOP = "job_stop"
JOB_LOGS = "job_logs"
JOB_HOLD = "job_hold"
JOB_RELEASE = "job_release"
MAX_SECTION = 2900
LOG_LINES_IN_THREAD = 20


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, MAX_SECTION))


def gpu_hours(r: JobRecord, now: float) -> float:
    if not r.started_at:
        return 0.0
    end = r.finished_at or now
    return max(0.0, end - r.started_at) * r.gpus / 3600


def _stamp(t: float) -> str:
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(int(t)))
    # Slack renders <!date^...> in the reader's own time zone; the fallback is UTC
    return f"<!date^{int(t)}^{{date_short_pretty}} {{time}}|{fallback}>"


def _gpus(r: JobRecord) -> str:
    if r.nodes > 1:
        return f"{r.gpus} × {r.gpu_type} ({r.nodes} nodes × {r.gpus_per_node})"
    return f"{r.gpus} × {r.gpu_type}"


def _state_line(r: JobRecord, position: int | None) -> str:
    if r.state == "queued" and r.parked:  # held or waiting on dependencies: said from the record itself
        return f"{msg.STATE_EMOJI.get(r.state, '')} *{msg.parked_state(r.held_by is not None)}*\n" \
            + msg.parked_reason(r.held_by, [(d["job"], d["condition"]) for d in r.after if not r.after_met])
    line = f"{msg.STATE_EMOJI.get(r.state, '')} *{r.state.capitalize()}*"
    if r.state == "queued" and position is not None:
        line += f" · position {position} in the queue"
    if r.state == "queued" and r.making_room:
        line += f" · {msg.STARTING_MAKING_ROOM}"
    elif r.state == "queued" and r.eta:
        line += f" · expected to start {_stamp(r.eta)}"
    if r.over_quota and r.state in RUNNING_STATES:
        line += f" · {msg.over_quota_note()}"
    if r.trainer_progress is not None and r.state in ("running", "succeeded"):
        line += f" · {msg.trainer_progress(r.trainer_progress, r.trainer_remaining_s)}"
    if r.unreachable_since is not None and r.state in RUNNING_STATES:  # not failed: not seen for now
        line += "\n" + msg.cluster_unreachable_since(r.cluster, r.unreachable_since)
    text = r.diagnosis if r.diagnosis and r.state not in ("succeeded", "stopped") else r.reason
    return f"{line}\n{text}" if text else line


def _fields(r: JobRecord, now: float) -> list[MarkdownTextObject]:
    fields = [
        _md(f"*Owner*\n<@{r.owner}>"),
        _md(f"*GPUs*\n{_gpus(r)}"),
        _md(f"*Node(s)*\n{', '.join(r.node_names) if r.node_names else '—'}"),
        _md(f"*Started*\n{_stamp(r.started_at) if r.started_at else '—'}"),
    ]
    limit = format_duration(r.time_limit_s)
    if r.started_at:
        elapsed = humanize((r.finished_at or now) - r.started_at)
        fields.append(_md(f"*Elapsed / limit*\n{elapsed} / {limit}"))
        fields.append(_md(f"*GPU-hours*\n{gpu_hours(r, now):.1f}"))
    else:
        fields.append(_md(f"*Time limit*\n{limit}"))
        fields.append(_md(f"*Image*\n{clip_code(r.image, 1900)}"))
    return fields


def _buttons(r: JobRecord) -> ActionsBlock:
    elements = [ButtonElement(text="Logs", action_id=JOB_LOGS, value=r.key)]
    if r.state in ACTIVE_STATES:
        # No client-side confirm dialog: the bot checks who clicked first, then asks (ephemerally) only
        # someone who may stop it, so nobody is asked "Stop this job?" to be refused afterwards.
        elements.append(ButtonElement(text="Stop", action_id=JOB_STOP, value=r.key, style="danger"))
    if r.state == "queued":  # a queued job can be kept from starting, and let go again
        held = r.held_by is not None
        elements.append(ButtonElement(text="Release" if held else "Hold", action_id=JOB_RELEASE if held else JOB_HOLD,
                                      value=r.key))
    return ActionsBlock(elements=elements)


def job_card(r: JobRecord, position: int | None = None, now: float | None = None) -> tuple[str, list[Block]]:
    """(fallback text, blocks) of the card: state, owner, GPUs, nodes, started, elapsed/limit, GPU-hours."""
    now = time.time() if now is None else now
    blocks: list[Block] = [
        HeaderBlock(text=PlainTextObject(text=r.name[:150])),
        SectionBlock(text=_md(_state_line(r, position))),
        SectionBlock(fields=_fields(r, now)),
    ]
    if r.state in ACTIVE_STATES or r.state in FINAL_STATES:
        blocks.append(_buttons(r))
    context = f"{r.namespace}/{r.name} · team {r.team} · {r.priority} priority · submitted {_stamp(r.submitted_at)}"
    if r.cluster or r.cluster_wanted:  # only set when the policy has several clusters
        context += f" · {msg.on_cluster(r.cluster or r.cluster_wanted or '')}"
    if r.approved_by:
        context += f" · {msg.approval_card_note(r.approved_by)}"
    blocks.append(ContextBlock(elements=[_md(context)]))
    return f"{r.name}: {r.state}", blocks


def _tail_block(log_tail: str) -> str:
    lines = log_tail.rstrip("\n").splitlines()[-LOG_LINES_IN_THREAD:]
    fit = fit_lines("\n".join(lines), MAX_SECTION - 80, sections=1)  # whole lines, the newest first
    body = "\n".join(fit.chunks[0]) if fit.chunks else ""
    return f"*{msg.log_tail_title(fit.shown)}*\n```{body}```" if body else ""


def thread_reply(r: JobRecord, event: str, now: float, log_tail: str = "") -> tuple[str, list[Block]]:
    """The reply in the card's thread for ``event``: started, waiting, succeeded, failed, timedout, stopped."""
    if event == "started":
        text = msg.thread_started(r.name, r.node_names)
    elif event == "succeeded":
        ran = humanize((r.finished_at or now) - (r.started_at or r.admitted_at or r.submitted_at))
        text = msg.thread_succeeded(r.name, ran, gpu_hours(r, now))
    elif event in ("failed", "timedout"):
        text = msg.thread_failed(r.name, event, r.diagnosis or r.reason or "")
    elif event == "waiting":
        text = msg.thread_waiting(r.name, r.diagnosis or r.reason or "")
    elif event.startswith("preempted"):
        text = msg.thread_preempted(r.name, r.reason or "")
    else:
        text = msg.thread_stopped(r.name, r.stopped_by)
    blocks: list[Block] = [SectionBlock(text=_md(text))]
    tail = _tail_block(log_tail) if event in ("failed", "timedout") else ""
    if tail:
        blocks.append(SectionBlock(text=_md(tail)))
    return text, blocks
