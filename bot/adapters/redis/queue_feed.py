"""The queue's change feed: what the dispatcher reads instead of the whole queue on every pass.

A base of ``QueueStore``. Every write that touches a queued record (``APPLY`` when the old or the new
state is ``queued``, ``REPARK``) also counts ``qver`` up and files the job under ``qchg`` (a zset,
score = the count at its latest change); a submit needs no entry, its sequence (``seq``) is newer
than any the reader has seen. ``queue_changes(mark)`` returns the jobs changed or submitted since
``mark`` with their records as they are now; the reader trims what it has read (``trim_changes``,
fenced by its lease). A counter that went back (Redis restored from an older file, flushed) answers
None: read everything again (``queue_snapshot``).
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

import redis

from bot.domain.jobs import JobRecord
from bot.domain.scheduling.queue_index import QueueChange, QueueMark

# KEYS: qchg. ARGV: up to (inclusive), lease key ('' = unfenced), holder. Returns entries removed, -1 fenced off.
TRIM = """
if ARGV[2] ~= '' and redis.call('GET', ARGV[2]) ~= ARGV[3] then return -1 end
return redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
"""

_CHUNK = 1000


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class QueueFeed:
    _r: redis.Redis
    prefix: str

    def _register_feed_scripts(self, client: redis.Redis) -> None:
        self._trim = client.register_script(TRIM)

    def _backend(self, op: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _k(self, suffix: str) -> str:
        return self.prefix + suffix

    def _counters(self, pipe: Any) -> None:
        pipe.get(self._k("qver"))
        pipe.get(self._k("seq"))

    def queue_snapshot(self) -> tuple[QueueMark, Iterator[tuple[JobRecord, int]]]:
        """The feed's mark and the whole queue (records read lazily, in chunks, in submit order)."""
        with self._backend("queue"):
            pipe = self._r.pipeline(transaction=True)
            self._counters(pipe)
            pipe.zrange(self._k("queue"), 0, -1, withscores=True)
            ver, seq, rows = pipe.execute()
        mark = QueueMark(int(ver or 0), int(seq or 0))
        return mark, self._rows([(_s(jk), int(score)) for jk, score in rows])

    def _rows(self, rows: builtins.list[tuple[str, int]]) -> Iterator[tuple[JobRecord, int]]:
        for i in range(0, len(rows), _CHUNK):
            part = rows[i:i + _CHUNK]
            with self._backend("queue"):
                raws = self._r.mget([self._k("job:" + jk) for jk, _ in part])
            for (_, seq), raw in zip(part, raws, strict=True):
                if raw:
                    yield JobRecord.from_json(raw), seq

    def queue_changes(self, mark: QueueMark) -> tuple[QueueMark, builtins.list[QueueChange]] | None:
        """Jobs changed or submitted since ``mark``: (new mark, [(key, record now, place)]); None when
        the feed went back (read the whole queue again)."""
        with self._backend("queue"):
            pipe = self._r.pipeline(transaction=True)
            self._counters(pipe)
            pipe.zrangebyscore(self._k("qchg"), f"({mark.version}", "+inf")
            pipe.zrangebyscore(self._k("queue"), f"({mark.seq}", "+inf")
            ver, seq, changed, fresh = pipe.execute()
        now = QueueMark(int(ver or 0), int(seq or 0))
        if now.version < mark.version or now.seq < mark.seq:
            return None
        keys = list(dict.fromkeys([*(_s(k) for k in changed), *(_s(k) for k in fresh)]))
        out: builtins.list[QueueChange] = []
        for i in range(0, len(keys), _CHUNK):
            part = keys[i:i + _CHUNK]
            with self._backend("queue"):
                pipe = self._r.pipeline(transaction=False)
                for jk in part:
                    pipe.zscore(self._k("queue"), jk)
                pipe.mget([self._k("job:" + jk) for jk in part])
                *scores, raws = pipe.execute()
            for jk, score, raw in zip(part, scores, raws, strict=True):
                out.append((jk, JobRecord.from_json(raw) if raw else None, None if score is None else int(score)))
        return now, out

    def positions(self, keys: Sequence[str]) -> builtins.list[int | None]:
        """``position`` of each job key (1-based; None: not queued), in one round trip."""
        if not keys:
            return []
        with self._backend("position"):
            pipe = self._r.pipeline(transaction=False)
            for jk in keys:
                pipe.zrank(self._k("queue"), jk)
            ranks = pipe.execute()
        return [None if rank is None else int(rank) + 1 for rank in ranks]

    def trim_changes(self, upto: QueueMark, *, lease: tuple[str, str] | None = None) -> bool:
        """Forget the feed's entries up to ``upto`` (read); False when fenced off (the lease is lost)."""
        fence = [self._k(f"lease:{lease[0]}"), lease[1]] if lease is not None else ["", ""]
        with self._backend("write"):
            return int(self._trim(keys=[self._k("qchg")], args=[upto.version, *fence])) >= 0
