"""Block Kit for the audit trail: a page of entries and an [Older entries] button."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, MarkdownTextObject, SectionBlock

from bot.domain import messages as msg
from bot.domain.audit import AuditEntry
from bot.render.replies import MAX_SECTION, Reply

AUDIT_OLDER = "audit_older"


def _sections(lines: list[str]) -> list[Block]:
    out: list[Block] = []
    chunk: list[str] = []
    for line in lines:
        if chunk and sum(len(x) + 1 for x in chunk) + len(line) > MAX_SECTION:
            out.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
            chunk = []
        chunk.append(line[:MAX_SECTION])
    if chunk:
        out.append(SectionBlock(text=MarkdownTextObject(text="\n".join(chunk))))
    return out


def audit_page(entries: list[AuditEntry], days: int, user: str | None, older: str | None) -> Reply:
    """``older``: the value of the button that shows the next page (None: this is the last one)."""
    if not entries:
        text = msg.audit_empty(days, user)
        return Reply(text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text))])
    lines = [msg.audit_title(days, user)]
    lines += [msg.audit_line(e.time, e.user, e.team, e.action, e.target, e.result, e.request_id) for e in entries]
    blocks = _sections(lines)
    if older is not None:
        blocks.append(ActionsBlock(elements=[ButtonElement(text=msg.AUDIT_OLDER, action_id=AUDIT_OLDER, value=older)]))
    return Reply(text=lines[0], blocks=blocks)
