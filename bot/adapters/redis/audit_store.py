"""The audit trail: one Redis stream (``audit``), appended to, trimmed by length and by age.

Entry IDs are Redis' own (``<ms>-<seq>``), so "the last N days" is an ID range and the age cap is
``XTRIM MINID``. Trims are exact: the trail is written a few times a minute, and a cap a security
review reads should mean what it says.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import redis

from bot.adapters.redis.errors import mapped
from bot.domain.audit import AuditEntry


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entry(entry_id: object, fields: Mapping[Any, Any] | None) -> AuditEntry:
    return AuditEntry.from_fields(_text(entry_id), {_text(k): _text(v) for k, v in (fields or {}).items()})


class AuditStore:
    def __init__(self, client: redis.Redis, prefix: str = "chatops:",
                 caps: Callable[[], tuple[int, int]] = lambda: (100_000, 90 * 86400)) -> None:
        self._r = client
        self._key = f"{prefix}audit"
        self.caps = caps  # (max entries, max age in seconds): read on each append, so a reload applies

    def append(self, entry: AuditEntry) -> str:
        max_entries, max_age = self.caps()
        min_id = f"{int((time.time() - max_age) * 1000)}-0"
        with mapped("audit append"):
            pipe = self._r.pipeline(transaction=False)
            pipe.xadd(self._key, entry.fields(), maxlen=max_entries, approximate=False)  # type: ignore[arg-type]
            pipe.xtrim(self._key, minid=min_id, approximate=False)
            out = pipe.execute()
        return _text(out[0])

    def page(self, *, since: float, before: str | None = None, user: str | None = None,
             limit: int = 20) -> tuple[list[AuditEntry], str | None]:
        """The newest ``limit`` entries older than ``before`` (an entry ID) and newer than ``since``;
        and the ID to pass as ``before`` for the next page (None: no more)."""
        found: list[AuditEntry] = []
        for entry in self._newest_first(since, before):
            if user is None or entry.user == user:
                found.append(entry)
                if len(found) == limit + 1:
                    break
        more = len(found) > limit
        found = found[:limit]
        return found, (found[-1].id if more and found else None)

    def since(self, since: float, batch: int = 500) -> Iterator[AuditEntry]:
        """Every entry newer than ``since``, oldest first (the export)."""
        start = f"{int(since * 1000)}-0"
        while True:
            with mapped("audit read"):
                rows = self._r.xrange(self._key, min=start, max="+", count=batch) or []
            for entry_id, fields in rows:
                yield _entry(entry_id, fields)
            if len(rows) < batch:
                return
            start = "(" + _text(rows[-1][0])

    def _newest_first(self, since: float, before: str | None, batch: int = 200) -> Iterator[AuditEntry]:
        low = f"{int(since * 1000)}-0"
        high = "(" + before if before else "+"
        while True:
            with mapped("audit read"):
                rows = self._r.xrevrange(self._key, max=high, min=low, count=batch) or []
            for entry_id, fields in rows:
                yield _entry(entry_id, fields)
            if len(rows) < batch:
                return
            high = "(" + _text(rows[-1][0])
