"""`/gpu history` and `/gpu report` as Slack text (tables in code blocks) and as CSV."""

from __future__ import annotations

import csv
import io
import time

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.domain import messages as msg
from bot.domain.accounting.usage import Row, gpu_hours, span
from bot.domain.clipping import clip
from bot.domain.durations import humanize
from bot.domain.jobs import JobRecord
from bot.render.replies import MAX_SECTION, Reply

MAX_ROWS = 40  # one screen; the CSV of a report has every row


def _hhmm(at: float | None) -> str:
    return time.strftime("%m-%d %H:%M", time.gmtime(at)) if at else "—"


def _sections(title: str, lines: list[str]) -> list[Block]:
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=f"*{title}*"))]
    chunk: list[str] = []
    for line in lines:
        if sum(len(c) + 1 for c in chunk) + len(line) + 8 > MAX_SECTION:
            blocks.append(SectionBlock(text=MarkdownTextObject(text="```" + "\n".join(chunk) + "```")))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip("```" + "\n".join(chunk) + "```", MAX_SECTION))))
    return blocks[:45]


def history(title: str, records: list[JobRecord], now: float, days: int) -> Reply:
    if not records:
        return Reply(text=msg.history_empty(days))
    lines = [f"{'job':<24} {'state':<9} {'start':<11} {'end':<11} {'wall':>9} {'GPU-h':>8}  how it ended"]
    for r in records[:MAX_ROWS]:
        held = span(r, now)
        wall = humanize(held[1] - held[0]) if held else "—"
        how = (r.reason or r.diagnosis or ("completed" if r.state == "succeeded" else r.state)).splitlines()[0]
        lines.append(f"{r.name[:24]:<24} {r.state:<9} {_hhmm(r.started_at):<11} {_hhmm(r.finished_at):<11} "
                     f"{wall:>9} {gpu_hours(r, now):>8.1f}  {how[:60]}")
    if len(records) > MAX_ROWS:
        lines.append(f"... and {len(records) - MAX_ROWS} more")
    return Reply(text=title, blocks=list(_sections(title, lines)))


def _group_label(group: str, by: str) -> str:
    return f"<@{group}>" if by == "user" else group


def report(title: str, rows: list[Row], by: str) -> Reply:
    priced = any(r.cost is not None for r in rows)
    total_h = sum(r.gpu_hours for r in rows)
    head = f"{by.replace('_', '-'):<16} {'jobs':>6} {'GPU-hours':>10}" + (f" {'cost':>10}" if priced else "")
    lines = [head]
    for r in rows[:MAX_ROWS]:
        cost = (f" {r.cost:>10.2f}" if r.cost is not None else f" {'—':>10}") if priced else ""
        lines.append(f"{r.group[:16]:<16} {r.jobs:>6} {r.gpu_hours:>10.1f}{cost}")
    total_cost = sum(r.cost or 0.0 for r in rows)
    lines.append(f"{'total':<16} {sum(r.jobs for r in rows):>6} {total_h:>10.1f}"
                 + (f" {total_cost:>10.2f}" if priced else ""))
    blocks = _sections(title, lines)
    if by == "user":  # names of people, for the reader (the table holds their IDs)
        who = ", ".join(_group_label(r.group, by) for r in rows[:MAX_ROWS])
        blocks.append(SectionBlock(text=MarkdownTextObject(text=clip(who, MAX_SECTION))))
    return Reply(text=title, blocks=blocks)


def report_csv(rows: list[Row], by: str) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow([by, "jobs", "gpu_hours", "cost"])
    for r in rows:
        w.writerow([r.group, r.jobs, f"{r.gpu_hours:.4f}", "" if r.cost is None else f"{r.cost:.2f}"])
    return out.getvalue()
