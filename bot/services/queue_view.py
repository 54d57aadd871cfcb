"""The queue as the scheduler orders it: what `/gpu queue` shows and what the dispatcher plans from."""

from __future__ import annotations

from bot.domain.jobs import JobRecord
from bot.domain.scheduling.fair_share import share_ratios
from bot.domain.scheduling.model import QueuedJob, order_queue
from bot.services.ports import QueuePorts


def queued_job(r: JobRecord, seq: int) -> QueuedJob:
    """The scheduler's view of a queued record (``seq``: its submit order)."""
    return QueuedJob(r.key, r.team, r.gpu_type, r.nodes, r.gpus_per_node, r.time_limit_s, r.priority, seq)


def ordered_queue(rt: QueuePorts) -> list[JobRecord]:
    """The queued records in the order the scheduler considers them."""
    quotas = {name: team.gpu_quota for name, team in rt.policy.teams.items()}
    usage = rt.store.load_usage()
    ratios = share_ratios({t: u.gpu_hours for t, u in usage.items()}, quotas)
    rows = rt.store.queued_with_seq()
    by_key = {r.key: r for r, _ in rows}
    return [by_key[j.key] for j in order_queue([queued_job(r, seq) for r, seq in rows], ratios)]
