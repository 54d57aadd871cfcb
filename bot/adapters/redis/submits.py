"""Submitting jobs: one, or many in pipelined batches (a job array's tasks), each exactly once.

A base of ``QueueStore``. Each record is stored by the one ``SUBMIT`` script (``queue_lua.py``), so a
batch gives every record the very outcome a lone submit would: created, the first outcome again for
a retried idempotency key, or a conflict for a name in use. ``submit_many`` sends ``batch`` scripts
per round trip (not one transaction: each script is atomic by itself, and a retry of the whole batch
after a failure is safe, by the idempotency keys).
"""

from __future__ import annotations

import builtins
import dataclasses
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any, get_args

import redis

from bot.domain.jobs import JobRecord, RecordState, SubmitResult

_STATES: frozenset[str] = frozenset(get_args(RecordState))
BATCH = 1000


class Submits:
    _r: redis.Redis
    prefix: str
    _clock: Callable[[], float]
    _submit: Any  # the registered SUBMIT script (queue_store.py)

    def _backend(self, op: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _args(self, record: JobRecord) -> builtins.list[str]:
        if not record.idempotency_key:
            raise ValueError("submit needs a record with a non-empty idempotency_key")
        if record.state not in _STATES:
            raise ValueError(f"unknown state {record.state!r}")
        r = record if record.submitted_at else dataclasses.replace(record, submitted_at=self._clock())
        return [self.prefix, r.key, r.idempotency_key, r.to_json(), r.owner, r.team, r.name, r.state,
                f"{r.state} {r.submitted_at!r}", "parked" if r.parked else ""]

    @staticmethod
    def _result(reply: Any) -> SubmitResult:
        code, raw = reply
        return SubmitResult(JobRecord.from_json(raw), created=int(code) == 0, conflict=int(code) == 2)

    def submit(self, record: JobRecord) -> SubmitResult:
        """Store a new job once. Safe to retry: the idempotency key returns the first outcome."""
        args = self._args(record)
        with self._backend("submit"):
            return self._result(self._submit(args=args))

    def submit_many(self, records: Iterable[JobRecord], batch: int = BATCH) -> builtins.list[SubmitResult]:
        """Store many new jobs, in order, ``batch`` per round trip; one result per record, as ``submit``
        would give. Records are checked before any is sent (a bad one raises, nothing stored)."""
        now = time.time() if self._clock is time.time else self._clock()
        todo = [self._args(r if r.submitted_at else dataclasses.replace(r, submitted_at=now)) for r in records]
        out: builtins.list[SubmitResult] = []
        for i in range(0, len(todo), batch):
            with self._backend("submit"):
                pipe = self._r.pipeline(transaction=False)
                for args in todo[i:i + batch]:
                    self._submit(args=args, client=pipe)
                replies = pipe.execute()
            out += [self._result(reply) for reply in replies]
        return out
