"""Approval requests: the request (immutable), its one decision (SET NX: the first answer wins), and
a sorted set of open requests by deadline, which the expiry sweep reads.

Keys: ``approval:{token}`` (the request), ``approval:{token}:decision``, ``approvals:due`` (ZSET of open
requests by deadline), ``approvals:submitting`` (ZSET of approved requests whose submit is not confirmed
yet: a crash between the decision and the submit is finished by the sweep). The values outlive the
deadline by a day, so a late click is told who answered.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from bot.adapters.redis.errors import mapped

KEEP_AFTER_S = 86400
# The decision, out of the due set and (approved) into the submitting set, in one step.
_DECIDE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('ZREM', KEYS[2], ARGV[3])
  if ARGV[4] == '1' then redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3]) end
  return 1
end
return 0
"""


class ApprovalStore:
    def __init__(self, client: redis.Redis, prefix: str = "chatops:") -> None:
        self._r = client
        self._prefix = prefix
        self._due = f"{prefix}approvals:due"
        self._submitting = f"{prefix}approvals:submitting"
        self._decide = client.register_script(_DECIDE)

    def _key(self, token: str) -> str:
        return f"{self._prefix}approval:{token}"

    def open(self, token: str, data: dict[str, Any], deadline: float, ttl_s: int) -> bool:
        """Store a new request; False when one with this token exists (a double click asked once)."""
        with mapped("store the approval request"):
            created = self._r.set(self._key(token), json.dumps(data), nx=True, ex=ttl_s + KEEP_AFTER_S)
            if created:
                self._r.zadd(self._due, {token: deadline})
        return bool(created)

    def get(self, token: str) -> dict[str, Any] | None:
        with mapped("read the approval request"):
            raw = self._r.get(self._key(token))
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        return data

    def set_card(self, token: str, channel: str, ts: str) -> None:
        """Where the approval card lives (known after it is posted)."""
        with mapped("store the approval card"):
            self._r.set(f"{self._key(token)}:card", json.dumps([channel, ts]), ex=KEEP_AFTER_S * 9)

    def card(self, token: str) -> tuple[str, str] | None:
        with mapped("read the approval card"):
            raw = self._r.get(f"{self._key(token)}:card")
        if raw is None:
            return None
        channel, ts = json.loads(raw)
        return str(channel), str(ts)

    def decide(self, token: str, decision: dict[str, Any], ttl_s: int) -> bool:
        """Record the one decision; True for the caller whose answer won."""
        approved = "1" if decision.get("verdict") == "approved" else "0"
        with mapped("decide the approval"):
            won = self._decide(keys=[f"{self._key(token)}:decision", self._due, self._submitting],
                               args=[json.dumps(decision), ttl_s + KEEP_AFTER_S, token, approved,
                                     decision.get("at", 0)])
        return bool(won)

    def submitted(self, token: str) -> None:
        """The approved request's job is in the queue: nothing left for the sweep to finish."""
        with mapped("finish the approval"):
            self._r.zrem(self._submitting, token)

    def unfinished(self, before: float, limit: int = 100) -> list[str]:
        """Approved requests decided before ``before`` whose submit was never confirmed (a crash)."""
        with mapped("read unfinished approvals"):
            tokens = self._r.zrangebyscore(self._submitting, "-inf", before, start=0, num=limit)
        return [t.decode() if isinstance(t, bytes) else str(t) for t in tokens]

    def decision(self, token: str) -> dict[str, Any] | None:
        with mapped("read the approval decision"):
            raw = self._r.get(f"{self._key(token)}:decision")
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        return data

    def due(self, now: float, limit: int = 100) -> list[str]:
        with mapped("read due approvals"):
            tokens = self._r.zrangebyscore(self._due, "-inf", now, start=0, num=limit)
        return [t.decode() if isinstance(t, bytes) else str(t) for t in tokens]
