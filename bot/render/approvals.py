"""Block Kit for approvals: the card in the team channel ([Approve] [Deny]) and the deny-reason modal."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.domain import messages as msg
from bot.render.replies import MAX_SECTION, Reply

APPROVAL_APPROVE = "approval_approve"
APPROVAL_DENY = "approval_deny"
APPROVAL_DENY_VIEW = "approval_deny_reason"  # the modal's callback_id
REASON_BLOCK = "reason"
REASON_INPUT = "reason_input"


def approval_card(text: str, token: str) -> Reply:
    return Reply(text=text, blocks=[
        SectionBlock(text=MarkdownTextObject(text=text[:MAX_SECTION])),
        ActionsBlock(elements=[
            ButtonElement(text="Approve", action_id=APPROVAL_APPROVE, value=token, style="primary"),
            ButtonElement(text="Deny", action_id=APPROVAL_DENY, value=token, style="danger"),
        ]),
    ])


def approval_done(text: str) -> Reply:
    """The card once answered (or expired): the outcome, no buttons."""
    return Reply(text=text, blocks=[SectionBlock(text=MarkdownTextObject(text=text[:MAX_SECTION]))])


def deny_modal(token: str) -> dict[str, Any]:
    view = View(
        type="modal", callback_id=APPROVAL_DENY_VIEW, private_metadata=token,
        title=PlainTextObject(text=msg.APPROVAL_DENY_TITLE), submit=PlainTextObject(text=msg.APPROVAL_DENY_SUBMIT),
        blocks=[InputBlock(block_id=REASON_BLOCK, label=PlainTextObject(text=msg.APPROVAL_DENY_LABEL),
                           element=PlainTextInputElement(action_id=REASON_INPUT, multiline=True, max_length=500),
                           optional=True)],
    )
    out: dict[str, Any] = view.to_dict()
    return out


def deny_reason(view: dict[str, Any]) -> str:
    """The reason typed into the deny modal ('' when left empty)."""
    values = view.get("state", {}).get("values", {})
    value = values.get(REASON_BLOCK, {}).get(REASON_INPUT, {}).get("value")
    return value.strip() if isinstance(value, str) else ""
