"""What the watcher has told people, and how they want to be told: Redis keys beside the queue's.

``first`` makes each thread reply happen once per job and event, whichever replica or replay gets
there first (SET NX). Keys: ``notice:{ns}/{name}:{event}``, ``pref:dm_on_finish`` (set of users),
``home:seen`` (set of users who opened the Home tab: only they get it refreshed).
"""

from __future__ import annotations

import redis

from bot.adapters.redis.errors import mapped

NOTICE_TTL_S = 30 * 86400


class NoticeStore:
    def __init__(self, client: redis.Redis, prefix: str = "chatops:") -> None:
        self._r = client
        self._prefix = prefix

    def first(self, job_key: str, event: str) -> bool:
        """True for the first caller for (job, event); False for every later one."""
        with mapped("notice mark"):
            return bool(self._r.set(f"{self._prefix}notice:{job_key}:{event}", "1", nx=True, ex=NOTICE_TTL_S))

    def forget(self, job_key: str, event: str) -> None:
        """Allow the event again (a job that left the state and may come back to it)."""
        with mapped("notice forget"):
            self._r.delete(f"{self._prefix}notice:{job_key}:{event}")

    def set_flag(self, name: str, user: str, on: bool) -> None:
        key = f"{self._prefix}{name}"
        with mapped("set flag"):
            if on:
                self._r.sadd(key, user)
            else:
                self._r.srem(key, user)

    def flag(self, name: str, user: str) -> bool:
        with mapped("read flag"):
            return bool(self._r.sismember(f"{self._prefix}{name}", user))

    def members(self, name: str) -> set[str]:
        with mapped("read flags"):
            members = self._r.smembers(f"{self._prefix}{name}")
        return {m.decode() if isinstance(m, bytes) else str(m) for m in members}
