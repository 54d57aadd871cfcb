"""The dispatcher's picture of the queue, in memory, kept in step with Redis by the store's change feed.

A pass no longer reads every queued record: ``refresh`` reads only the jobs submitted or changed since
the last pass (``JobQueue.queue_changes``) and files them in a ``QueueIndex`` (in order, ready for the
next decision); the dispatcher tells it at once what its own writes did (``forget`` an admitted job).
The whole queue is read again when the feed says so (Redis went back in time), when the lease is taken
(another replica may have dispatched meanwhile) and every ``RESYNC_S`` as a safety net.
"""

from __future__ import annotations

import time

from bot.domain.jobs import JobRecord
from bot.domain.scheduling.cycle import queued_job
from bot.domain.scheduling.queue_index import QueueIndex, QueueMark
from bot.services.ports import JobQueue

RESYNC_S = 600.0

Fence = tuple[str, str] | None


class QueueBook:
    def __init__(self, store: JobQueue) -> None:
        self.store = store
        self.index = QueueIndex()
        self.mark: QueueMark | None = None
        self.reloads = 0
        self._untrimmed: QueueMark | None = None
        self._loaded_at = 0.0

    def reset(self) -> None:
        """Read the whole queue at the next refresh (the lease was taken: others may have written)."""
        self.mark = None

    def refresh(self, fence: Fence) -> int:
        """Bring the index up to date; returns how many jobs were read."""
        if self.mark is None or time.monotonic() - self._loaded_at > RESYNC_S:
            return self._reload(fence)
        got = self.store.queue_changes(self.mark)
        if got is None:
            return self._reload(fence)
        mark, changes = got
        for key, record, seq in changes:
            self._file(key, record, seq)
        if mark.version > self.mark.version:
            self._untrimmed = mark
        self.mark = mark
        return len(changes)

    def trim(self, fence: Fence) -> None:
        """Forget the feed's entries read so far (after the decision: a write the decision need not wait for)."""
        if self._untrimmed is not None:
            self.store.trim_changes(self._untrimmed, lease=fence)
            self._untrimmed = None

    def _reload(self, fence: Fence) -> int:
        mark, rows = self.store.queue_snapshot()
        index = QueueIndex()
        n = 0
        for record, seq in rows:
            n += 1
            if record.state == "queued" and not record.parked:
                index.put(queued_job(record, seq), record.reason, record.eta, record.making_room)
        self.index, self.mark = index, mark
        self._loaded_at = time.monotonic()
        self.reloads += 1
        self._untrimmed = mark
        return n

    def _file(self, key: str, record: JobRecord | None, seq: int | None) -> None:
        if record is None or seq is None or record.state != "queued" or record.parked:
            self.index.drop(key)
        else:
            self.index.put(queued_job(record, seq), record.reason, record.eta, record.making_room)

    def note(self, record: JobRecord) -> None:
        """The dispatcher wrote ``record`` (a queued job's reason or estimate): the index says so now."""
        entry = self.index.get(record.key)
        if entry is not None:
            self._file(record.key, record, entry.job.seq)

    def forget(self, key: str) -> None:
        """The job left the queue (admitted, or found changed): the feed brings it back if it is still queued."""
        self.index.drop(key)
