"""Block Kit for every reply and card, built with ``slack_sdk.models`` so sizes are validated.

``slack_sdk.models`` is pure data (no I/O); the import contract allows it in the core.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    MarkdownTextObject,
    SectionBlock,
)

from bot.domain import messages as msg
from bot.domain.clipping import clip, clip_code
from bot.domain.durations import format_duration
from bot.domain.errors import Refusal
from bot.domain.jobs import RUNNING_STATES, JobRecord
from bot.domain.language.slash import command_for
from bot.render import cards as cards_render

# action_ids the handlers listen to
LAUNCH_CONFIRM = "launch_confirm"
LAUNCH_CANCEL = "launch_cancel"
STOP_CONFIRM = "stop_confirm"
STOP_CANCEL = "stop_cancel"
JOB_STOP = "job_stop"
JOB_LOGS = "job_logs"

MAX_SECTION = 2900  # Slack's limit is 3000 characters per section text


@dataclass
class Reply:
    """What a handler sends back: fallback text plus blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def blocks_json(self) -> list[dict[str, Any]]:
        return [b.to_dict() for b in self.blocks]


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, MAX_SECTION))


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=_md(text))


def _code(text: str) -> str:
    return f"`{text}`"


def text_reply(text: str) -> Reply:
    return Reply(text=text, blocks=[_section(text)])


def refusal(err: Refusal) -> Reply:
    lines = [f":no_entry: {err.why}"]
    fix = command_for(err.fix)
    if fix:
        lines.append(f"Try: `{fix}`")
    return text_reply("\n".join(lines))


def _gpus(r: JobRecord) -> str:
    if r.nodes > 1:
        return f"{r.gpus} × {r.gpu_type} ({r.nodes} nodes × {r.gpus_per_node})"
    return f"{r.gpus} × {r.gpu_type}"


def _job_fields(r: JobRecord) -> list[MarkdownTextObject]:
    fields = [
        _md(f"*Image*\n{_code(r.image)}"),
        _md(f"*GPUs*\n{_gpus(r)}"),
        _md(f"*Namespace*\n{r.namespace} (team {r.team})"),
        _md(f"*Time limit*\n{format_duration(r.time_limit_s)}"),
        _md(f"*Priority*\n{r.priority}"),
        _md(f"*Owner*\n<@{r.owner}>"),
    ]
    if r.memory or r.cpus:
        fields.append(_md(f"*Per node*\n{msg.per_node_resources(r.memory, r.cpus)}"))
    if r.command:
        fields.append(_md(f"*Command*\n{clip_code(shlex.join(r.command), 1900)}"))
    if r.env:
        fields.append(_md("*Env*\n" + clip(", ".join(f"{k}={v}" for k, v in sorted(r.env.items())), 1900)))
    return fields


def preview(r: JobRecord, token: str, based_on: str | None = None, note: str | None = None) -> Reply:
    title = msg.preview_title(r.name)
    intro = f"*{title}*" + (f"\n{msg.preview_based_on(based_on)}" if based_on else "")
    intro += f"\n{note}" if note else ""  # e.g. who must approve it
    return Reply(
        text=title,
        blocks=[
            _section(intro),
            SectionBlock(fields=_job_fields(r)),
            ActionsBlock(
                elements=[
                    ButtonElement(text="Launch", action_id=LAUNCH_CONFIRM, value=token, style="primary"),
                    ButtonElement(text="Cancel", action_id=LAUNCH_CANCEL, value=token),
                ]
            ),
        ],
    )


def job_card(r: JobRecord, position: int | None = None, now: float | None = None) -> Reply:
    """The living job card; built in ``cards_render`` (owned with the watcher)."""
    text, blocks = cards_render.job_card(r, position, now)
    return Reply(text=text, blocks=blocks)


def job_line(r: JobRecord, position: int | None = None) -> str:
    where = f" · #{position} in queue" if position else ""
    if r.state == "queued" and r.parked:
        where += f" · {msg.parked_state(r.held_by is not None).lower()}"
    if r.state == "queued" and r.making_room:
        where += f" · {msg.STARTING_MAKING_ROOM}"
    over = f" · {msg.over_quota_note()}" if r.over_quota and r.state in RUNNING_STATES else ""
    return f"{msg.STATE_EMOJI.get(r.state, '')} `{r.name}` · {r.state}{where}{over} · {_gpus(r)} · <@{r.owner}>"


def job_list(title: str, records: list[tuple[JobRecord, int | None]]) -> Reply:
    if not records:
        return text_reply(f"*{title}*\n{msg.no_jobs_yet()}")
    lines = [job_line(r, pos) for r, pos in records]
    chunks: list[str] = []
    current = f"*{title}*"
    for line in lines:
        if len(current) + len(line) + 1 > MAX_SECTION:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    chunks.append(current)
    return Reply(text=title, blocks=[_section(c) for c in chunks[:45]])


def stop_confirm(names: list[str], token: str) -> Reply:
    text = msg.stop_preview(names)
    return Reply(
        text=text,
        blocks=[
            _section(text),
            ActionsBlock(
                elements=[
                    ButtonElement(text="Stop", action_id=STOP_CONFIRM, value=token, style="danger"),
                    ButtonElement(text="Cancel", action_id=STOP_CANCEL, value=token),
                ]
            ),
        ],
    )


def status(r: JobRecord, position: int | None, pods: list[str]) -> Reply:
    card = job_card(r, position)
    if pods:
        card.blocks.insert(3, _section(clip("*Pods*\n" + "\n".join(pods), MAX_SECTION)))
    return card


def gpus_table(rows: list[tuple[str, int, int, int]], notes: list[str] | None = None) -> Reply:
    """GPUs by type (by "cluster type" with several clusters); ``notes``: the clusters that do not answer."""
    width = max([7, *(len(r[0]) for r in rows)])
    lines = ["*Cluster GPUs*", f"```{'type':<{width}} capacity  in use  free"]
    for gpu_type, cap, used, free in rows:
        lines.append(f"{gpu_type:<{width}} {cap:>8} {used:>7} {free:>5}")
    lines.append("```")
    lines += notes or []
    return text_reply("\n".join(lines))
