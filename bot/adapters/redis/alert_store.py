"""Alert state in Redis: the webhook outbox, one JSON state per alert group, the dirty set, nudges.

Keys under ``{prefix}alerts:``: ``inbox`` (list of accepted webhook bodies, oldest first),
``processing`` (the bodies a worker took and has not folded in yet: moved back on start, so a crash
loses nothing), ``group:{gid}`` (``GroupState`` JSON), ``dirty`` (zset gid → when to send next:
a group stays here until Slack shows its latest version), ``nudge:{ns/name}`` (idle-nudge marker,
expires after the nudge interval).

Group writes are optimistic transactions (WATCH/MULTI): the worker and button clicks both change
groups, and neither may lose the other's change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import WatchError

from bot.adapters.redis.errors import mapped
from bot.domain.alerts.payload import GroupState
from bot.domain.errors import TransientBackendError

_ATTEMPTS = 50
RESOLVED_TTL_S = 7 * 86400  # a resolved group is forgotten after a week (its message stays in Slack)


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class AlertStore:
    def __init__(self, client: redis.Redis, prefix: str = "chatops:") -> None:
        self._r = client
        self._p = prefix + "alerts:"

    # --- the outbox of accepted webhooks ---------------------------------------------------------

    def enqueue(self, body: str) -> None:
        """Durable once this returns (Redis AOF): the receiver answers 200 only after it."""
        with mapped("enqueue"):
            self._r.rpush(self._p + "inbox", body)

    def recover(self) -> int:
        """Put bodies a crashed worker had taken back at the head of the inbox; how many."""
        n = 0
        with mapped("recover"):
            while self._r.lmove(self._p + "processing", self._p + "inbox", "RIGHT", "LEFT") is not None:
                n += 1
        return n

    def take(self, limit: int) -> list[str]:
        out: list[str] = []
        with mapped("take"):
            for _ in range(limit):
                raw = self._r.lmove(self._p + "inbox", self._p + "processing", "LEFT", "RIGHT")
                if raw is None:
                    break
                out.append(_s(raw))
        return out

    def done(self, body: str) -> None:
        with mapped("done"):
            self._r.lrem(self._p + "processing", 1, body)

    def backlog(self) -> int:
        with mapped("backlog"):
            return int(self._r.llen(self._p + "inbox")) + int(self._r.llen(self._p + "processing"))

    # --- group states ----------------------------------------------------------------------------

    def get(self, gid: str) -> GroupState | None:
        with mapped("get"):
            raw = self._r.get(self._p + "group:" + gid)
        return GroupState.model_validate_json(raw) if raw else None

    def update(self, gid: str, change: Callable[[GroupState | None], GroupState | None], *,
               due: float | None = None, ack_version: int | None = None) -> GroupState | None:
        """Apply ``change`` atomically; it returns the new state or None for "leave it".

        ``due``: mark the group dirty (to send at that time). ``ack_version``: the send showed that
        version; the group leaves the dirty set only if it is still the current one.
        """
        key = self._p + "group:" + gid
        for _ in range(_ATTEMPTS):
            with mapped("group update"), self._r.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(key)  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
                    raw = pipe.get(key)
                    old = GroupState.model_validate_json(raw) if raw else None
                    new = change(old)
                    current = new or old
                    pipe.multi()
                    if new is not None:
                        ttl = RESOLVED_TTL_S if new.resolved else None
                        pipe.set(key, new.model_dump_json(), ex=ttl)
                    if due is not None and new is not None:
                        pipe.zadd(self._p + "dirty", {gid: due})
                    if ack_version is not None and current is not None and current.version == ack_version:
                        pipe.zrem(self._p + "dirty", gid)
                    pipe.execute()
                    return new
                except WatchError:
                    continue
        raise TransientBackendError("redis", f"alert group {gid} kept changing; try again")

    def postpone(self, gid: str, due: float) -> None:
        with mapped("postpone"):
            self._r.zadd(self._p + "dirty", {gid: due}, xx=True)

    def forget(self, gid: str) -> None:
        with mapped("forget"):
            self._r.zrem(self._p + "dirty", gid)

    def due(self, now: float, limit: int = 200) -> list[str]:
        """Dirty groups whose send time has come, oldest first."""
        with mapped("due"):
            return [_s(g) for g in self._r.zrangebyscore(self._p + "dirty", "-inf", now, start=0, num=limit)]

    def dirty_count(self) -> int:
        with mapped("dirty"):
            return int(self._r.zcard(self._p + "dirty"))

    # --- idle nudges -----------------------------------------------------------------------------

    def claim_nudge(self, job_key: str, every_s: int) -> bool:
        """True once per ``every_s`` per job: whoever gets True sends the nudge."""
        with mapped("nudge"):
            return bool(self._r.set(self._p + "nudge:" + job_key, "1", nx=True, ex=every_s))
