"""A job's card as the bot keeps track of it: owed (not posted yet), and how a post ended."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.domain.jobs import JobRecord

CARD_EVENT = "chatops_job_card"  # the event_type of a card's Slack message metadata


def card_metadata(r: JobRecord) -> dict[str, Any]:
    """What the card carries in Slack's message metadata, to be found again after a crash."""
    return {"event_type": CARD_EVENT, "event_payload": {"job": r.key, "idem": r.idempotency_key}}


@dataclass(frozen=True)
class Owed:
    """A card that must exist and may not yet: kept durably until its ts is on the record."""

    job: str  # ns/name
    idem: str  # the idempotency key of the job the card is for (a name can be reused later)
    channels: tuple[str, ...]  # where to post, in order of preference
    since: float
    attempted: float | None = None  # when a post last left for Slack (it may have arrived)

    def to_json(self) -> str:
        return json.dumps({"idem": self.idem, "channels": list(self.channels), "since": self.since,
                           "attempted": self.attempted})

    @classmethod
    def from_json(cls, job: str, raw: str | bytes) -> Owed:
        d = json.loads(raw)
        return cls(job, str(d.get("idem") or ""), tuple(d.get("channels") or ()), float(d.get("since") or 0.0),
                   d.get("attempted"))


@dataclass(frozen=True)
class Posted:
    """How a card post ended: its ``ts``; or refused (neither); or ``unsure`` (it may be in Slack)."""

    ts: str | None
    unsure: bool = False
