"""Block Kit for the "time limit near" notice with its [+2 h] button."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, MarkdownTextObject, SectionBlock

from bot.domain import messages as msg
from bot.domain.jobs import JobRecord
from bot.render.replies import Reply

JOB_EXTEND = "job_extend"
EXTEND_BY_S = 2 * 3600


def extend_value(r: JobRecord) -> str:
    """The button's value: the job and the time limit it was shown for (a second click is a no-op)."""
    return f"{r.key}|{r.time_limit_s}"


def parse_extend_value(value: str) -> tuple[str, str, int]:
    """(namespace, name, time limit when shown) from a button value."""
    key, _, limit = value.partition("|")
    namespace, _, name = key.partition("/")
    return namespace, name, int(limit) if limit.isdigit() else 0


def time_limit_near(r: JobRecord, left_s: float) -> Reply:
    text = msg.time_limit_near(r.name, left_s)
    return Reply(text=text, blocks=[
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(elements=[ButtonElement(text=msg.EXTEND_BUTTON, action_id=JOB_EXTEND, value=extend_value(r))]),
    ])
