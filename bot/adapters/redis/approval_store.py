"""Approval requests: the request (immutable), its one decision (SET NX: the first answer wins), and
a sorted set of open requests by deadline, which the expiry sweep reads.

Keys: ``approval:{token}`` (the request), ``approval:{token}:decision``, ``approvals:due`` (ZSET).
Both values outlive the deadline by a day, so a late click is told who answered.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from bot.adapters.redis.errors import mapped

KEEP_AFTER_S = 86400


class ApprovalStore:
    def __init__(self, client: redis.Redis, prefix: str = "chatops:") -> None:
        self._r = client
        self._prefix = prefix
        self._due = f"{prefix}approvals:due"

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
        with mapped("decide the approval"):
            won = self._r.set(f"{self._key(token)}:decision", json.dumps(decision), nx=True,
                              ex=ttl_s + KEEP_AFTER_S)
            if won:
                self._r.zrem(self._due, token)
        return bool(won)

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
