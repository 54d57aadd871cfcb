"""Alertmanager's webhook (version "4") as pydantic models, and the group state the bot keeps.

The receiver validates with ``parse_webhook``: a ``ValueError`` carries a one-line reason for the
400 answer. Unknown extra fields are ignored (Alertmanager adds fields across releases); a version
other than "4" is refused because its shape is not known.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

AlertStatus = Literal["firing", "resolved"]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class WebhookAlert(_Lenient):
    status: AlertStatus
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str = ""
    endsAt: str = ""
    generatorURL: str = ""
    fingerprint: str = Field(min_length=1, max_length=128)


class Webhook(_Lenient):
    version: Literal["4"]
    groupKey: str = Field(min_length=1, max_length=4096)
    status: AlertStatus
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    truncatedAlerts: int = 0
    # No count cap: Alertmanager sends every alert of a group (max_alerts 0 = all); the body size limit
    # of the HTTP route bounds it.
    alerts: list[WebhookAlert] = Field(min_length=1)


def parse_webhook(body: str | bytes) -> Webhook:
    """The validated payload, or ``ValueError`` with the first problems in plain words."""
    try:
        return Webhook.model_validate_json(body)
    except PydanticValidationError as err:
        problems = []
        for e in err.errors()[:3]:
            loc = ".".join(str(p) for p in e["loc"]) or "(body)"
            problems.append(f"{loc}: {e['msg']}")
        raise ValueError("; ".join(problems)) from None


def group_id(group_key: str) -> str:
    """A short stable id for a group: fits a button value and a Redis key."""
    return hashlib.sha256(group_key.encode()).hexdigest()[:20]


# --- the state the bot keeps per alert group (JSON in Redis) ------------------------------------


class AlertEntry(_Lenient):
    fingerprint: str
    status: AlertStatus
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str = ""
    endsAt: str = ""


class Silence(_Lenient):
    id: str
    by: str  # Slack user id of the clicker
    until: float  # epoch seconds


class Target(_Lenient):
    """One Slack message that shows the group: the channel message, a job-thread copy, a DM."""

    channel: str
    thread_ts: str | None = None
    ts: str | None = None  # set once posted; later sends update it in place
    posted_channel: str | None = None  # the channel Slack answered (a DM's D... id)


class GroupState(_Lenient):
    gid: str
    group_key: str
    alerts: dict[str, AlertEntry] = Field(default_factory=dict)  # fingerprint → entry
    silence: Silence | None = None
    job_key: str | None = None  # namespace/name of a bot-managed job the group is about
    targets: list[Target] = Field(default_factory=list)
    version: int = 0  # bumped on every change; a send acknowledges the version it showed

    @property
    def firing(self) -> list[AlertEntry]:
        return [a for a in self.alerts.values() if a.status == "firing"]

    @property
    def resolved(self) -> bool:
        return bool(self.alerts) and not self.firing
