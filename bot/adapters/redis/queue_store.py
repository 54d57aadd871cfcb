"""The job queue and job records in Redis: idempotent submit, compare-and-set transitions, leases.

The only module (with other Redis adapters) that imports ``redis``. Every write is one atomic step,
a Lua script from ``queue_lua.py``. Records are ``JobRecord.to_json()`` strings; ``transition`` and
``update`` merge fields in Python and commit with a compare-and-swap script, retried when the record
changed meanwhile (cjson in Redis would turn [] into {} and round floats to 14 digits).

Keys, all under ``prefix``: ``job:{ns}/{name}`` (record JSON), ``seq`` (submit counter), ``idem:{n}``
(hashes idempotency key -> ns/name, in buckets; ``idem``: before the buckets), ``names:{n}`` (hashes
name -> its jobs, in buckets; ``idx:name:{name}`` zsets before them), ``queue`` (zset, score
= submit seq), ``idx:all``,
``idx:owner:{o}``, ``idx:team:{t}``, ``idx:state:{s}`` (but queued; zsets of ns/name, score
= submit seq), ``hist:{ns}/{name}`` (list of "state time"), ``lease:{name}``, ``fence:{name}``,
``job:{ns}/{name}#{seq}`` (a finished job archived when its name was used again; in the indexes under
that member, with its history),
``usage`` (hash team -> "decayed GPU-hours, as-of time" for fair share), ``parked`` (zset of queued
jobs that may not start yet, score = submit seq; see ``parking.py``), ``qver`` and ``qchg`` (the
queue's change feed, ``queue_feed.py``).
"""

from __future__ import annotations

import builtins
import dataclasses
import time
from collections.abc import Callable, Collection, Iterable
from contextlib import AbstractContextManager
from typing import Any, get_args

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.adapters.redis import queue_lua
from bot.adapters.redis.bulk_updates import BulkUpdates
from bot.adapters.redis.errors import mapped
from bot.adapters.redis.job_names import JobNames
from bot.adapters.redis.leases import LeasesAndUsage
from bot.adapters.redis.parking import Parking
from bot.adapters.redis.queue_feed import QueueFeed
from bot.adapters.redis.retention import Retention
from bot.adapters.redis.submits import Submits
from bot.domain.errors import LeaseLost, PermanentBackendError, TransientBackendError
from bot.domain.jobs import JobRecord, RecordState

STATES: frozenset[str] = frozenset(get_args(RecordState))
_FIELDS = frozenset(f.name for f in dataclasses.fields(JobRecord))
# Fields that place the record in keys and indexes: changing them in place would orphan index entries.
_FIXED = frozenset({"name", "namespace", "owner", "team", "idempotency_key", "state"})
_CHUNK = 500
_CAS_ATTEMPTS = 50


def _s(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


class QueueStore(Submits, BulkUpdates, QueueFeed, LeasesAndUsage, Parking, Retention, JobNames):
    def __init__(
        self, client: redis.Redis, prefix: str = "chatops:", *, clock: Callable[[], float] = time.time
    ) -> None:
        self._r = client
        self.prefix = prefix
        self._clock = clock
        password = client.connection_pool.connection_kwargs.get("password")
        self._secrets = [str(password)] if password else []
        self._submit = client.register_script(queue_lua.SUBMIT)
        self._apply = client.register_script(queue_lua.APPLY)
        self._register_lease_scripts(client)
        self._register_parking_scripts(client)
        self._register_retention_scripts(client)
        self._register_feed_scripts(client)

    @classmethod
    def from_url(cls, url: str, prefix: str = "chatops:") -> QueueStore:
        try:
            # No silent client retries: a retried script after a timeout could report a lost CAS for
            # one that was applied. Failures surface as TransientBackendError; callers decide.
            client = redis.Redis.from_url(
                url, socket_timeout=5.0, socket_connect_timeout=5.0, retry=Retry(NoBackoff(), 0)
            )
        except ValueError:
            raise PermanentBackendError(
                "redis", "the Redis URL is not valid (expected redis://[:password@]host:port/db)"
            ) from None  # the original message may quote the URL, password included
        return cls(client, prefix)

    @classmethod
    def embedded(cls, prefix: str = "chatops:") -> QueueStore:
        """An in-process store (fakeredis with Lua) for the demo and tests, when REDIS_URL is unset."""
        import fakeredis  # only the embedded mode needs it

        return cls(fakeredis.FakeRedis(server=fakeredis.FakeServer()), prefix)

    @property
    def client(self) -> redis.Redis:
        return self._r

    def _backend(self, op: str) -> AbstractContextManager[None]:
        return mapped(op, self._secrets)

    def _k(self, suffix: str) -> str:
        return self.prefix + suffix

    def _load(self, job_keys: Iterable[Any]) -> builtins.list[JobRecord]:  # redis-py types replies loosely
        keys = [self._k("job:" + _s(jk)) for jk in job_keys]
        out: list[JobRecord] = []
        with self._backend("read"):
            for i in range(0, len(keys), _CHUNK):
                out += [JobRecord.from_json(raw) for raw in self._r.mget(keys[i : i + _CHUNK]) if raw]
        return out

    def ping(self) -> bool:
        """True when Redis answers; False when it cannot be reached. Bad credentials raise."""
        try:
            with self._backend("ping"):
                return bool(self._r.ping())
        except TransientBackendError:
            return False

    def get(self, namespace: str, name: str) -> JobRecord | None:
        with self._backend("get"):
            raw = self._r.get(self._k(f"job:{namespace}/{name}"))
        return JobRecord.from_json(raw) if raw else None

    def get_by_idempotency_key(self, key: str) -> JobRecord | None:
        with self._backend("get"):
            bucket = self._k(f"idem:{queue_lua.bucket(key)}")
            jk = self._r.hget(bucket, key) or self._r.hget(self._k("idem"), key)
        return self.get(*_s(jk).split("/", 1)) if jk else None

    def find(self, name: str, namespaces: Iterable[str] | None = None) -> builtins.list[JobRecord]:
        """Jobs called ``name`` in any (or the given) namespaces, newest first."""
        with self._backend("find"):
            listed = self._r.hget(self._k(f"names:{queue_lua.bucket(name)}"), name)
            older = self._r.zrevrange(self._k(f"idx:name:{name}"), 0, -1)  # stored before the name buckets
        jks = [*reversed(_s(listed).split()), *older] if listed else older
        records = self._load(jks)
        if namespaces is not None:
            allowed = set(namespaces)
            records = [r for r in records if r.namespace in allowed]
        return records

    def queued(self) -> builtins.list[JobRecord]:
        """The queue in order: by submit sequence (FIFO) for now."""
        with self._backend("queue"):
            jks = self._r.zrange(self._k("queue"), 0, -1)
        return self._load(jks)

    def queued_with_seq(self) -> builtins.list[tuple[JobRecord, int]]:
        """The queue with each job's submit sequence (its place, kept when it is re-queued)."""
        with self._backend("queue"):
            rows: Any = self._r.zrange(self._k("queue"), 0, -1, withscores=True)
        seqs = {_s(jk): int(score) for jk, score in rows}
        return [(r, seqs[r.key]) for r in self._load(jk for jk, _ in rows)]

    def position(self, namespace: str, name: str) -> int | None:
        """1-based place in the queue, or None when the job is not queued."""
        with self._backend("position"):
            rank: Any = self._r.zrank(self._k("queue"), f"{namespace}/{name}")
        return None if rank is None else int(rank) + 1

    def history(self, namespace: str, name: str) -> builtins.list[tuple[str, float]]:
        """(state, time) of the submit and of each transition, oldest first."""
        with self._backend("history"):
            entries = self._r.lrange(self._k(f"hist:{namespace}/{name}"), 0, -1)
        if not entries:  # submitted queued and not moved since: its history is its submit (see SUBMIT)
            r = self.get(namespace, name)
            return [] if r is None else [("queued", r.submitted_at)]
        out = []
        for entry in entries:
            state, _, at = _s(entry).partition(" ")
            out.append((state, float(at)))
        return out

    def list(
        self,
        *,
        owner: str | None = None,
        team: str | None = None,
        states: Collection[str] | None = None,
        limit: int = 200,
    ) -> builtins.list[JobRecord]:
        """Jobs matching every given filter, newest first (by submit sequence), at most ``limit``."""
        if limit <= 0:
            return []
        wanted = set(states) if states is not None else None

        def keep(r: JobRecord) -> bool:
            matches = owner in (None, r.owner) and team in (None, r.team)
            return matches and (wanted is None or r.state in wanted)

        if owner is None and team is None and wanted is not None:
            # Newest `limit` of each state index, merged by sequence: exact without a full scan.
            with self._backend("list"):
                pipe = self._r.pipeline(transaction=False)
                for s in wanted:  # queued jobs: in ``queue`` or ``parked``, not in a state index
                    for index in (("queue", "parked") if s == "queued" else (f"idx:state:{s}",)):
                        pipe.zrevrange(self._k(index), 0, limit - 1, withscores=True)
                pairs = [p for rows in pipe.execute() for p in rows]
            pairs.sort(key=lambda p: p[1], reverse=True)
            return [r for r in self._load(jk for jk, _ in pairs[:limit]) if keep(r)]
        index = (
            self._k(f"idx:owner:{owner}") if owner is not None
            else self._k(f"idx:team:{team}") if team is not None
            else self._k("idx:all")
        )  # fmt: skip
        out: list[JobRecord] = []
        start = 0
        while len(out) < limit:
            with self._backend("list"):
                jks = self._r.zrevrange(index, start, start + _CHUNK - 1)
            if not jks:
                break
            start += _CHUNK
            out += [r for r in self._load(jks) if keep(r)]
        return out[:limit]

    def transition(
        self,
        namespace: str,
        name: str,
        from_states: Collection[str],
        to_state: str,
        *,
        lease: tuple[str, str] | None = None,
        **fields: Any,
    ) -> JobRecord | None:
        """Compare-and-set: move to ``to_state`` (and set ``fields``) only if the state is in
        ``from_states``. Returns the new record, or None if the job is missing or in another state.
        With ``lease=(name, holder)`` the write is fenced: ``LeaseLost`` when holder lost it."""
        if to_state not in STATES:
            raise ValueError(f"unknown state {to_state!r}")
        self._check_fields(fields)
        return self._cas(namespace, name, frozenset(from_states), to_state, fields, lease)

    def update(
        self, namespace: str, name: str, *, lease: tuple[str, str] | None = None, **fields: Any
    ) -> JobRecord | None:
        """Set non-state fields (card_ts, channel, reason...). None if the job does not exist."""
        self._check_fields(fields)
        return self._cas(namespace, name, None, None, fields, lease)

    @staticmethod
    def _check_fields(fields: dict[str, Any]) -> None:
        unknown = set(fields) - _FIELDS
        if unknown:
            raise ValueError(f"unknown JobRecord field(s): {', '.join(sorted(unknown))}")
        fixed = set(fields) & _FIXED
        if fixed:
            raise ValueError(f"field(s) {', '.join(sorted(fixed))} cannot be changed here")

    def _cas(
        self,
        namespace: str,
        name: str,
        from_states: frozenset[str] | None,
        to_state: str | None,
        fields: dict[str, Any],
        lease: tuple[str, str] | None = None,
    ) -> JobRecord | None:
        jk = f"{namespace}/{name}"
        fence = list(lease) if lease is not None else []
        for _ in range(_CAS_ATTEMPTS):
            with self._backend("read"):
                raw = self._r.get(self._k("job:" + jk))
            if not raw:
                return None
            old = JobRecord.from_json(raw)
            if from_states is not None and old.state not in from_states:
                return None
            if to_state in ("admitted", "running") and old.state == "queued" and old.parked:
                return None  # held or waiting on dependencies (parked.py): not the queue's to admit
            new = dataclasses.replace(old, **fields)
            if to_state is not None:
                new.state = to_state  # type: ignore[assignment]  # checked against STATES
            entry = f"{new.state} {self._clock()!r}" if to_state is not None else ""
            first = f"queued {old.submitted_at!r}"  # a job submitted queued has no history until now
            args = [self.prefix, jk, raw, new.to_json(), old.state, new.state, entry, first, *fence]
            with self._backend("write"):
                code = int(self._apply(args=args))
            if code == 1:
                return new
            if code == -1:
                held = lease[0] if lease else ""
                raise LeaseLost("redis", f"the {held} lease is no longer held; {jk} left as it was")
        raise TransientBackendError("redis", f"job {jk} kept changing under {_CAS_ATTEMPTS} attempts; try again")
