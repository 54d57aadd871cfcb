"""Parked jobs in Redis: queued, keeping their submit sequence (their place), but out of ``queue``.

A base of ``QueueStore``. A job is parked while it is held (``/gpu hold``) or waits on its
dependencies (``--after``); the dispatcher reads only ``queue``, so it never admits one. ``repark``
changes a queued record and puts it in ``parked`` or ``queue`` as the new record says, in one
atomic step, so a release can never lose the job's place; and a hold never loses to an admission in
flight: the store's compare-and-set refuses to admit a parked record (``QueueStore._cas``).
"""

from __future__ import annotations

import builtins
import dataclasses
from contextlib import AbstractContextManager
from typing import Any

import redis

from bot.domain.errors import TransientBackendError
from bot.domain.jobs import JobRecord

# ARGV: prefix, job key, expected JSON, new JSON, 'parked' | 'queue' (where the job belongs now).
# Returns 1 when written, 0 when the record changed meanwhile (or is no longer queued).
REPARK = """
local p, jk = ARGV[1], ARGV[2]
local key = p .. 'job:' .. jk
if redis.call('GET', key) ~= ARGV[3] then return 0 end
local seq = redis.call('ZSCORE', p .. 'idx:all', jk)
if not seq then return 0 end
redis.call('SET', key, ARGV[4])
local from = ARGV[5] == 'parked' and 'queue' or 'parked'
redis.call('ZREM', p .. from, jk)
redis.call('ZADD', p .. ARGV[5], seq, jk)
redis.call('ZADD', p .. 'qchg', redis.call('INCR', p .. 'qver'), jk)  -- the change feed (queue_feed.py)
return 1
"""

_ATTEMPTS = 50


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Parking:
    _r: redis.Redis
    prefix: str

    def _register_parking_scripts(self, client: redis.Redis) -> None:
        self._repark = client.register_script(REPARK)

    def _backend(self, op: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _k(self, suffix: str) -> str:
        return self.prefix + suffix

    def _load(self, job_keys: Any) -> builtins.list[JobRecord]:
        raise NotImplementedError

    def repark(self, namespace: str, name: str, **fields: Any) -> JobRecord | None:
        """Set ``fields`` on a queued job and file it under ``parked`` or ``queue`` by its new ``parked``.

        None when the job is missing or no longer queued (admitted, stopped) when the write lands."""
        jk = f"{namespace}/{name}"
        for _ in range(_ATTEMPTS):
            with self._backend("read"):
                raw = self._r.get(self._k("job:" + jk))
            if not raw:
                return None
            old = JobRecord.from_json(raw)
            if old.state != "queued":
                return None
            new = dataclasses.replace(old, **fields)
            where = "parked" if new.parked else "queue"
            with self._backend("write"):
                code = int(self._repark(args=[self.prefix, jk, raw, new.to_json(), where]))
            if code == 1:
                return new
        raise TransientBackendError("redis", f"job {jk} kept changing under {_ATTEMPTS} attempts; try again")

    def parked(self) -> builtins.list[JobRecord]:
        """The parked jobs, in submit order."""
        with self._backend("parked"):
            jks = self._r.zrange(self._k("parked"), 0, -1)
        return [r for r in self._load(_s(j) for j in jks) if r.state == "queued"]
