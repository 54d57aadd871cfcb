"""The App Home tab: my jobs (running, queued with position, recently finished), my team's GPUs
against its quota, and free GPUs by type. Pure Block Kit (``slack_sdk.models``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block, DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.domain import messages as msg
from bot.domain.clipping import clip
from bot.domain.jobs import JobRecord
from bot.render.replies import job_line

MAX_BLOCKS = 100  # Slack's limit for a Home tab view
MAX_SECTION = 2900


@dataclass(frozen=True)
class HomeFacts:
    running: list[JobRecord]
    queued: list[tuple[JobRecord, int | None]]
    finished: list[JobRecord]
    team: str | None
    team_used: int
    team_quota: int
    free_by_type: list[tuple[str, int, int]]  # (gpu type, free, capacity)
    team_borrowed: int = 0  # GPUs of the team's over-quota jobs (not in team_used)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, MAX_SECTION)))


def _lines(title: str, lines: list[str]) -> list[Block]:
    if not lines:
        return []
    return [_section(f"*{title}*\n" + "\n".join(lines))]


def home_view(f: HomeFacts) -> dict[str, Any]:
    blocks: list[Block] = [HeaderBlock(text=msg.home_title())]
    jobs = (_lines("Running", [job_line(r) for r in f.running])
            + _lines("Queued", [job_line(r, pos) for r, pos in f.queued])
            + _lines("Recently finished", [job_line(r) for r in f.finished]))
    blocks += jobs or [_section(msg.home_none())]
    blocks.append(DividerBlock())
    if f.team:
        blocks.append(_section(msg.home_team_use(f.team, f.team_used, f.team_quota, f.team_borrowed)))
    if f.free_by_type:
        rows = [f"`{t}` {free} free of {cap}" for t, free, cap in f.free_by_type]
        blocks.append(_section("*Cluster GPUs*\n" + "\n".join(rows)))
    view = View(type="home", blocks=blocks[:MAX_BLOCKS])
    out: dict[str, Any] = view.to_dict()
    return out
