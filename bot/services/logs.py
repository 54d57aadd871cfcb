"""``/gpu logs JOB [--tail N]`` and the card's [Logs] button: the last lines of every pod of a job.

Each rank of a multi-node job is labelled. What fits goes back as a code block; longer output goes
to the asker's DM as a file (``files_upload_v2`` through the outbound layer) and the reply keeps the
newest lines, so nothing is cut silently.
"""

from __future__ import annotations

from bot.domain import messages as msg
from bot.domain.errors import BackendError
from bot.domain.jobs import JobRecord
from bot.render import replies as rendering
from bot.services.ports import LogPorts

INDEX_LABEL = "batch.kubernetes.io/job-completion-index"
INLINE_LIMIT = 2800  # what a code block in one section can show


def collect(rt: LogPorts, r: JobRecord, tail: int) -> str | None:
    """The labelled tails of the job's pods; None when it has no pods."""
    pods = sorted(rt.cluster.job_pods(r.namespace, r.name), key=lambda p: str(p["metadata"]["name"]))
    if not pods:
        return None
    parts = []
    for pod in pods:
        name = pod["metadata"]["name"]
        try:
            text = rt.cluster.pod_log(r.namespace, name, tail).rstrip("\n")
        except BackendError as err:
            text = msg.logs_unreadable(name, str(err))
        rank = (pod["metadata"].get("labels") or {}).get(INDEX_LABEL)
        if len(pods) > 1 or rank is not None:
            label = f"rank {rank}" if rank is not None else "pod"
            parts.append(f"--- {label} ({name})\n{text}")
        else:
            parts.append(text)
    return "\n".join(parts).strip("\n")


def logs_reply(rt: LogPorts, r: JobRecord, tail: int, user_id: str) -> rendering.Reply:
    text = collect(rt, r, tail)
    if text is None:
        return rendering.text_reply(msg.logs_no_pods(r.name, r.state))
    title = f"Last {tail} lines of {r.name}"
    if len(text) <= INLINE_LIMIT:
        return rendering.code_block(title, text)
    channel = rt.cards.dm_channel(user_id)
    sent = channel is not None and rt.cards.upload(channel, f"{r.name}-logs.txt", text, title)
    reply = rendering.code_block(title, text)  # the newest lines that fit
    if sent:
        reply.blocks.insert(0, rendering.text_reply(msg.logs_sent_as_file(r.name)).blocks[0])
        reply.text = msg.logs_sent_as_file(r.name)
    return reply
