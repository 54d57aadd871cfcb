"""``/gpu logs JOB [--tail N]`` and the card's [Logs] button: the last lines of every pod of a job.

Each rank of a multi-node job is labelled. What fits goes back as code blocks (whole lines, several
sections); only output that does not fit goes to the asker's DM as a file (``files_upload_v2``
through the outbound layer), and the reply keeps the newest whole lines and says so.
"""

from __future__ import annotations

from bot.domain import messages as msg
from bot.domain.errors import BackendError
from bot.domain.jobs import JobRecord
from bot.render import replies as rendering
from bot.render.logs import fit_lines, log_blocks
from bot.services.needs import LogPorts

INDEX_LABEL = "batch.kubernetes.io/job-completion-index"


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
    title = msg.logs_title(tail, r.name)
    fit = fit_lines(text)
    if fit.complete:
        return rendering.Reply(title, log_blocks(title, fit))
    channel = rt.cards.dm_channel(user_id)
    sent = channel is not None and rt.cards.upload(channel, f"{r.name}-logs.txt", text, title)
    note = msg.logs_sent_as_file(r.name, fit.shown, fit.total) if sent else msg.logs_cut(fit.shown, fit.total)
    return rendering.Reply(note, log_blocks(title, fit, note))  # the newest lines that fit
