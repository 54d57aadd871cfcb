"""The queue in scheduling order, kept in memory and changed by events instead of re-read every pass.

Pure. ``QueueIndex`` holds each queued job's scheduler view (``QueuedJob``) and what its record says
now about its wait (reason, ETA, making room), in groups of one (priority, team), each group sorted by
submit sequence. ``ordered`` yields the queue in exactly ``order_queue``'s order (priority, the team's
fair-share ratio, submit order) without sorting it: groups are ranked, and groups of equal rank merged
by sequence. ``LazyQueue`` materialises that order only as far as a reader goes, so a decision that
stops after the backfill depth never builds the other 99,000 places.
"""

from __future__ import annotations

import hashlib
import heapq
from bisect import bisect_left, insort
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import attrgetter
from typing import NamedTuple, overload

from bot.domain.jobs import JobRecord
from bot.domain.scheduling.model import PRIORITY_RANK, QueuedJob

_SEQ = attrgetter("seq")


class QueueMark(NamedTuple):
    """How far the store's change feed has been read: its change counter and its submit counter."""

    version: int = 0
    seq: int = 0


# what the store's change feed says of one job: its key, its record now (None: gone), its place in the
# queue (its submit sequence; None: not in the queue, e.g. admitted, parked, stopped)
QueueChange = tuple[str, JobRecord | None, int | None]


@dataclass(slots=True)
class Entry:
    job: QueuedJob
    reason: str | None = None
    eta: float | None = None
    making_room: bool = False


class QueueIndex:
    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self._groups: dict[tuple[str, str], list[QueuedJob]] = {}
        self._depth: dict[str, int] = {}  # GPU type → queued jobs
        self.told: set[str] = set()  # jobs whose record holds an estimate (or "making room")
        self.version = 0  # changes when a job enters, leaves, or changes what the scheduler sees of it

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

    def put(self, job: QueuedJob, reason: str | None = None, eta: float | None = None,
            making_room: bool = False) -> None:
        if eta is not None or making_room:
            self.told.add(job.key)
        else:
            self.told.discard(job.key)
        old = self.entries.get(job.key)
        if old is not None and old.job == job:
            old.reason, old.eta, old.making_room = reason, eta, making_room
            return
        if old is not None:
            self._unlink(old.job)
        self.entries[job.key] = Entry(job, reason, eta, making_room)
        insort(self._groups.setdefault((job.priority, job.team), []), job, key=_SEQ)
        self._depth[job.gpu_type] = self._depth.get(job.gpu_type, 0) + 1
        self.version += 1

    def drop(self, key: str) -> None:
        old = self.entries.pop(key, None)
        self.told.discard(key)
        if old is not None:
            self._unlink(old.job)
            self.version += 1

    def _unlink(self, job: QueuedJob) -> None:
        group_key = (job.priority, job.team)
        group = self._groups[group_key]
        i = bisect_left(group, job.seq, key=_SEQ)
        while group[i].key != job.key:  # equal sequences (never from the store; tests may)
            i += 1
        del group[i]
        if not group:
            del self._groups[group_key]
        self._depth[job.gpu_type] -= 1

    def depth_by_type(self) -> dict[str, int]:
        return dict(self._depth)

    def _ranked(self, ratios: Mapping[str, float]) -> list[tuple[tuple[int, float], list[list[QueuedJob]]]]:
        ranked: dict[tuple[int, float], list[list[QueuedJob]]] = {}
        for (priority, team), g in self._groups.items():
            ranked.setdefault((PRIORITY_RANK.get(priority, 1), ratios.get(team, 0.0)), []).append(g)
        return sorted(ranked.items(), key=lambda kv: kv[0])

    def ordered(self, ratios: Mapping[str, float], skip: Collection[str] = ()) -> LazyQueue:
        """The queue in scheduling order, ``skip`` left out. A copy of each group is taken now, so the
        index may change while the order is being read."""
        left_out = {key for key in skip if key in self.entries}
        touched = {(self.entries[key].job.priority, self.entries[key].job.team) for key in left_out}

        def copy(g: list[QueuedJob]) -> list[QueuedJob]:
            if (g[0].priority, g[0].team) in touched:
                return [j for j in g if j.key not in left_out]
            return list(g)

        return LazyQueue([[(g[0].team, copy(g)) for g in gs] for _, gs in self._ranked(ratios)])

    def mark(self, ratios: Mapping[str, float], ends: Sequence[str]) -> str:
        """Changes when the queue, the order of its groups or the running set changes."""
        order = [f"{g[0].priority}:{g[0].team}" for _, gs in self._ranked(ratios) for g in gs]
        return hashlib.sha1("|".join([str(self.version), *order, *ends]).encode()).hexdigest()


Bucket = list[tuple[str, list[QueuedJob]]]  # the groups (team, jobs by sequence) of one rank


def _walk(buckets: list[Bucket], full: set[str] | None) -> Iterator[tuple[QueuedJob, int]]:
    """Each job in order with its place (0-based); with ``full``, the jobs of those teams are left out
    (they still count in the places), and the reader may add teams to ``full`` while it reads."""
    passed = 0
    for bucket in buckets:
        heap = [(g[0].seq, n, 0) for n, (_, g) in enumerate(bucket) if g]
        heapq.heapify(heap)
        dropped: list[tuple[list[QueuedJob], int]] = []  # (group, first index not read) of left-out teams
        while heap:
            seq, n, i = heap[0]
            team, g = bucket[n]
            if full is not None and team in full:
                heapq.heappop(heap)
                dropped.append((g, i))
                continue
            before = sum(bisect_left(dg, seq, lo=di, key=_SEQ) - di for dg, di in dropped) if dropped else 0
            yield g[i], passed + before
            passed += 1
            if i + 1 < len(g):
                heapq.heapreplace(heap, (g[i + 1].seq, n, i + 1))
            else:
                heapq.heappop(heap)
        passed += sum(len(dg) - di for dg, di in dropped)


class LazyQueue(Sequence[QueuedJob]):
    """A queue in order, built only as far as it is read (iteration); ``len`` or indexing build it all.
    ``scan`` reads it afresh, leaving out the teams a decision finds at their quota."""

    def __init__(self, buckets: list[Bucket]) -> None:
        self._buckets = buckets
        self._done: list[QueuedJob] = []
        self._source: Iterator[tuple[QueuedJob, int]] | None = _walk(buckets, None)

    def scan(self, full: set[str]) -> Iterator[tuple[QueuedJob, int]]:
        return _walk(self._buckets, full)

    def __iter__(self) -> Iterator[QueuedJob]:
        i = 0
        while True:
            if i < len(self._done):
                yield self._done[i]
                i += 1
                continue
            if self._source is None:
                return
            nxt = next(self._source, None)
            if nxt is None:
                self._source = None
                return
            self._done.append(nxt[0])

    def head(self, n: int) -> list[QueuedJob]:
        return list(islice(self, n))

    def _all(self) -> list[QueuedJob]:
        if self._source is not None:
            self._done.extend(j for j, _ in self._source)
            self._source = None
        return self._done

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, i: int) -> QueuedJob: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[QueuedJob]: ...
    def __getitem__(self, i: int | slice) -> QueuedJob | Sequence[QueuedJob]:
        return self._all()[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyQueue):
            return self._all() == other._all()
        return isinstance(other, list) and self._all() == other

    __hash__ = None  # type: ignore[assignment]
