"""The cards a job is owed, in Redis: the obligation to post outlives the process that took it on.

Keys under the queue's prefix: ``cards:owed`` (hash job key → JSON ``{"idem", "channels", "since",
"attempted"}``), ``cards:dirty`` (hash job key → version of the newest change not yet known to be in
Slack: an update queued in memory dies with its process) and ``cards:claim:{job}`` (the poster at work
on it, with a short TTL it renews while its post waits for the channel's turn). ``attempted`` is set
before a post leaves: a card owed with ``attempted`` may already be in Slack, so the next poster looks
for it before posting.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

import redis

from bot.adapters.redis.errors import mapped
from bot.domain.cards import Owed

# ARGV: claim key, holder, ttl ms. Renews or frees a claim only for the holder that took it.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# ARGV: job, version. Forgets a dirty card only if no newer change was recorded since.
_CLEAN = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class CardLedger:
    def __init__(self, client: redis.Redis, prefix: str = "chatops:") -> None:
        self._r = client
        self._owed = f"{prefix}cards:owed"
        self._claim = f"{prefix}cards:claim:"
        self._dirty = f"{prefix}cards:dirty"
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)
        self._clean = client.register_script(_CLEAN)

    def _backend(self, op: str) -> AbstractContextManager[None]:
        return mapped(f"card {op}")

    def owe(self, owed: Owed) -> None:
        """Record the obligation (once: an obligation already there keeps its attempt mark)."""
        with self._backend("owe"):
            self._r.hsetnx(self._owed, owed.job, owed.to_json())

    def get(self, job: str) -> Owed | None:
        with self._backend("read"):
            raw = self._r.hget(self._owed, job)
        return Owed.from_json(job, raw) if raw is not None else None

    def all(self) -> list[Owed]:
        with self._backend("read"):
            raw = self._r.hgetall(self._owed)
        out = [Owed.from_json(k.decode() if isinstance(k, bytes) else str(k), v) for k, v in raw.items()]
        return sorted(out, key=lambda o: o.since)

    def attempt(self, owed: Owed, at: float) -> Owed:
        """Mark that a post is about to leave (written before it leaves)."""
        marked = Owed(owed.job, owed.idem, owed.channels, owed.since, at)
        with self._backend("attempt"):
            self._r.hset(self._owed, owed.job, marked.to_json())
        return marked

    def settle(self, job: str) -> None:
        """The card exists (its ts is on the record) or is not owed any more."""
        with self._backend("settle"):
            self._r.hdel(self._owed, job)

    def claim(self, job: str, holder: str, ttl_s: float) -> bool:
        with self._backend("claim"):
            return bool(self._r.set(self._claim + job, holder, nx=True, px=int(ttl_s * 1000)))

    def renew(self, job: str, holder: str, ttl_s: float) -> bool:
        with self._backend("claim renewal"):
            return bool(self._renew(keys=[self._claim + job], args=[holder, int(ttl_s * 1000)]))

    def release(self, job: str, holder: str) -> None:
        with self._backend("claim release"):
            self._release(keys=[self._claim + job], args=[holder])

    def dirty(self, job: str) -> int:
        """A change of the card is on its way to Slack: returns its version (cleaned once it is there)."""
        with self._backend("dirty mark"):
            return int(self._r.hincrby(self._dirty, job, 1))

    def dirty_many(self, jobs: Sequence[str]) -> list[int]:
        """``dirty`` of each job, in one round trip."""
        if not jobs:
            return []
        with self._backend("dirty mark"):
            pipe = self._r.pipeline(transaction=False)
            for job in jobs:
                pipe.hincrby(self._dirty, job, 1)
            return [int(v) for v in pipe.execute()]

    def owe_many(self, owed: Sequence[Owed]) -> None:
        """``owe`` of each, in one round trip."""
        if not owed:
            return
        with self._backend("owe"):
            pipe = self._r.pipeline(transaction=False)
            for o in owed:
                pipe.hsetnx(self._owed, o.job, o.to_json())
            pipe.execute()

    def clean(self, job: str, version: int) -> None:
        with self._backend("dirty clean"):
            self._clean(keys=[self._dirty], args=[job, version])

    def dirties(self) -> dict[str, int]:
        """Cards whose newest change may not have reached Slack (job → version)."""
        with self._backend("read"):
            raw = self._r.hgetall(self._dirty)
        return {(k.decode() if isinstance(k, bytes) else str(k)): int(v) for k, v in raw.items()}
