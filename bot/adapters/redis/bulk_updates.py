"""Many records changed at once (the dispatcher's reasons and estimates): two round trips, not 2 × N.

A base of ``QueueStore``. ``update_many`` reads every record in one MGET, merges each change in Python
and sends every compare-and-swap (the ``APPLY`` script, fenced like ``update``) in one pipeline: with
``appendfsync always`` Redis writes the AOF once per batch of commands it took in, not once per record.
A record that changed meanwhile is retried alone (``update``).
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import redis

from bot.domain.errors import LeaseLost
from bot.domain.jobs import JobRecord

Change = tuple[str, dict[str, Any]]  # job key (ns/name), fields to set


class BulkUpdates:
    _r: redis.Redis
    prefix: str
    _apply: Any  # the registered APPLY script (queue_store.py)

    def _backend(self, op: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _k(self, suffix: str) -> str:
        return self.prefix + suffix

    @staticmethod
    def _check_fields(fields: dict[str, Any]) -> None:
        raise NotImplementedError

    def update(self, namespace: str, name: str, *, lease: tuple[str, str] | None = None,
               **fields: Any) -> JobRecord | None:
        raise NotImplementedError

    def update_many(self, changes: Sequence[Change], *, lease: tuple[str, str] | None = None,
                    ) -> builtins.list[JobRecord | None]:
        """``update`` of each (key, fields), in one batch; one result per change (None: no such job)."""
        for _, fields in changes:
            self._check_fields(fields)
        if not changes:
            return []
        fence = list(lease) if lease is not None else []
        with self._backend("read"):
            raws = self._r.mget([self._k("job:" + key) for key, _ in changes])
        out: builtins.list[JobRecord | None] = [None] * len(changes)
        sent: builtins.list[tuple[int, JobRecord]] = []
        with self._backend("write"):
            pipe = self._r.pipeline(transaction=False)
            for i, ((key, fields), raw) in enumerate(zip(changes, raws, strict=True)):
                if not raw:
                    continue
                old = JobRecord.from_json(raw)
                new = dataclasses.replace(old, **fields)
                self._apply(args=[self.prefix, key, raw, new.to_json(), old.state, new.state, "", "", *fence],
                            client=pipe)
                sent.append((i, new))
            codes = pipe.execute()
        for (i, new), code in zip(sent, codes, strict=True):
            if int(code) == -1:
                held = lease[0] if lease else ""
                raise LeaseLost("redis", f"the {held} lease is no longer held; {new.key} left as it was")
            if int(code) == 1:
                out[i] = new
            else:  # changed meanwhile: merge again with what it is now
                key, fields = changes[i]
                ns, _, name = key.partition("/")
                out[i] = self.update(ns, name, lease=lease, **fields)
        return out
