"""The audit trail's entries: who changed what, when, with what result (nothing secret: no env, no tokens)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

# The actions that change something, as written in the trail.
AuditAction = Literal[
    "launch.submitted", "launch.approval_requested", "launch.approved", "launch.denied", "launch.expired",
    "stop", "preemption", "silence.created", "silence.expired", "config.reloaded", "config.rejected",
    "extend", "hold", "release",
]


@dataclass(frozen=True)
class AuditEntry:
    time: float  # Unix seconds
    user: str  # the Slack user who acted ("" for the bot itself: preemption, reload, expiry)
    team: str
    action: str
    target: str  # what it acted on: "ml-research/llama-ft", a silence ID, the policy file
    result: str  # "ok", "refused: …", "error: …"
    request_id: str = ""
    id: str = ""  # the stream entry ID (set when read back)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_fields(cls, entry_id: str, fields: dict[str, str]) -> AuditEntry:
        return cls(time=float(fields.get("time", "0") or 0), user=fields.get("user", ""),
                   team=fields.get("team", ""), action=fields.get("action", ""), target=fields.get("target", ""),
                   result=fields.get("result", ""), request_id=fields.get("request_id", ""), id=entry_id)

    def fields(self) -> dict[str, str]:
        return {"time": repr(self.time), "user": self.user, "team": self.team, "action": self.action,
                "target": self.target, "result": self.result, "request_id": self.request_id}
