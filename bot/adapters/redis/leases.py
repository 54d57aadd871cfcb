"""The dispatcher's lease (with a fencing token) and the teams' fair-share usage, in Redis.

A base of ``QueueStore``: the same connection and key prefix, and fenced writes share its lease keys.
"""

from __future__ import annotations

import math
from contextlib import AbstractContextManager
from typing import Any

import redis

from bot.adapters.redis import queue_lua
from bot.domain.errors import LeaseLost
from bot.domain.scheduling.fair_share import Usage


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class LeasesAndUsage:
    _r: redis.Redis
    prefix: str

    def _register_lease_scripts(self, client: redis.Redis) -> None:
        self._acquire = client.register_script(queue_lua.ACQUIRE_LEASE)
        self._renew = client.register_script(queue_lua.RENEW_LEASE)
        self._release = client.register_script(queue_lua.RELEASE_LEASE)
        self._save_usage = client.register_script(queue_lua.SAVE_USAGE)

    def _backend(self, op: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _k(self, suffix: str) -> str:
        return self.prefix + suffix

    @staticmethod
    def _ms(ttl_s: float) -> int:
        if ttl_s <= 0:
            raise ValueError("a lease needs a positive ttl")
        return max(1, math.ceil(ttl_s * 1000))

    def acquire_lease(self, name: str, holder: str, ttl_s: float) -> int | None:
        """Take the lease if free; returns a fencing token (higher than every earlier one) or None."""
        keys = [self._k(f"lease:{name}"), self._k(f"fence:{name}")]
        with self._backend("lease"):
            token = self._acquire(keys=keys, args=[holder, self._ms(ttl_s)])
        return None if token is None else int(token)

    def renew_lease(self, name: str, holder: str, ttl_s: float) -> bool:
        with self._backend("lease"):
            return int(self._renew(keys=[self._k(f"lease:{name}")], args=[holder, self._ms(ttl_s)])) == 1

    def release_lease(self, name: str, holder: str) -> None:
        with self._backend("lease"):
            self._release(keys=[self._k(f"lease:{name}")], args=[holder])

    # --- fair-share usage ------------------------------------------------------------------------

    def load_usage(self) -> dict[str, Usage]:
        """Each team's decayed GPU-hours and the time they were computed at."""
        with self._backend("usage"):
            raw = self._r.hgetall(self._k("usage"))
        out: dict[str, Usage] = {}
        for team, value in raw.items():
            hours, _, at = _s(value).partition(" ")
            out[_s(team)] = Usage(float(hours), float(at) if at and at != "None" else None)
        return out

    def save_usage(self, usage: dict[str, Usage], *, lease: tuple[str, str] | None = None) -> None:
        """Store usage in one atomic step; fenced like ``transition`` when ``lease`` is given."""
        if not usage:
            return
        pairs = [v for team, u in usage.items() for v in (team, f"{u.gpu_hours!r} {u.at!r}")]
        fence = [self._k(f"lease:{lease[0]}"), lease[1]] if lease else ["", ""]
        with self._backend("usage"):
            code = int(self._save_usage(keys=[self._k("usage")], args=[*fence, *pairs]))
        if code == -1:
            raise LeaseLost("redis", "the lease is no longer held; usage not saved")
