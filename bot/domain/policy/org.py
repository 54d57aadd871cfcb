"""The policy keys of an organisation: approval rules and the audit trail's caps.

Kept apart from ``config.py`` (the lab-sized keys) so each stays one concept; ``Policy`` holds them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.domain.durations import parse_duration

# Slack user groups in a member list: "@handle" or the group's ID (S…); users are U…/W….
GROUP_ID = re.compile(r"S[A-Z0-9]{2,}")
GROUP_HANDLE = re.compile(r"@[a-z0-9][a-z0-9._-]*", re.IGNORECASE)
DEFAULT_APPROVAL_TTL_S = 8 * 3600


def is_group(ref: str) -> bool:
    """A member-list entry that names a Slack user group (resolved at run time), not a user."""
    return bool(GROUP_HANDLE.fullmatch(ref) or GROUP_ID.fullmatch(ref))


def duration_value(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a duration like 12h")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError("must be a positive number of seconds")
        return value
    if not isinstance(value, str):
        raise ValueError("expected a duration like 12h, 90m or 7d")
    return parse_duration(value)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApprovalWhen(StrictModel):
    """When a launch needs a second person's yes; every key given must hold (an AND)."""

    gpus_over: Annotated[int, Field(ge=0)] | None = None
    priority: Literal["low", "normal", "high"] | None = None
    time_over: int | None = None
    over_quota: bool | None = None
    template: str | None = None
    # `/gpu extend`: a rule with either of these is about extensions (its other keys then look at the job)
    extend_over: int | None = None  # an extension by more than this
    over_max_time: bool | None = None  # the new limit is past limits.max_time_limit (asked for, not refused)

    _time = field_validator("time_over", "extend_over", mode="before")(
        lambda cls, v: None if v is None else duration_value(v))

    @property
    def extension(self) -> bool:
        """A rule for `/gpu extend`, not for launches."""
        return self.extend_over is not None or self.over_max_time is not None

    @model_validator(mode="after")
    def _some_condition(self) -> ApprovalWhen:
        if all(getattr(self, k) is None for k in type(self).model_fields):
            raise ValueError("needs at least one condition: gpus_over, priority, time_over, over_quota, template, "
                             "extend_over or over_max_time")
        if self.extension and self.over_quota is not None:
            raise ValueError("over_quota is about launches; leave it out of a rule with extend_over/over_max_time")
        return self


class ApprovalRule(StrictModel):
    when: ApprovalWhen
    approvers: list[str] = Field(min_length=1)


class AuditSettings(StrictModel):
    """How much of the audit trail Redis keeps: the newest ``max_entries``, none older than ``max_age``."""

    max_entries: Annotated[int, Field(gt=0)] = 100_000
    max_age: int = 90 * 86400

    _age = field_validator("max_age", mode="before")(lambda cls, v: duration_value(v))
