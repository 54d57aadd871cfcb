"""The queue as the scheduler orders it: what `/gpu queue` shows (the order is the scheduling cycle's)."""

from __future__ import annotations

from bot.domain.jobs import JobRecord
from bot.domain.scheduling.cycle import ordered, quotas_of
from bot.services.needs import QueuePorts


def ordered_queue(rt: QueuePorts) -> list[JobRecord]:
    """The queued records in the order the scheduler considers them."""
    return ordered(rt.store.queued_with_seq(), rt.store.load_usage(), quotas_of(rt.policy))
