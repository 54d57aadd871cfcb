"""Many jobs submitted at once (a job array's tasks): one pipelined store call, one dispatcher wake-up."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.domain.jobs import JobRecord, SubmitResult
from bot.services.needs import HasStore, HasWake


class SubmitPorts(HasStore, HasWake, Protocol): ...


def submit_many(rt: SubmitPorts, records: Sequence[JobRecord]) -> list[SubmitResult]:
    """Store ``records`` (each exactly once, by its idempotency key), in order, in pipelined batches;
    one result per record, as a lone submit would answer. The dispatcher is woken once.

    Cards are the caller's: owe them (``rt.desk.owe``) before calling, as a single launch does; a job
    array owes one card for all its tasks rather than one per task."""
    results = rt.store.submit_many(records)
    if any(r.created for r in results):
        rt.wake_dispatcher()
    return results
