"""GPU-hours of jobs over a window, grouped, and their cost: pure arithmetic over job records.

A job holds its GPUs from its start (else its admission) to its end (else now, while it runs); only
the part inside the window counts, so the months of a report add up to the report of their sum.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.domain.jobs import FINAL_STATES, JobRecord


def span(r: JobRecord, now: float) -> tuple[float, float] | None:
    """(start, end) of the time the job held GPUs, or None when it never started."""
    start = r.started_at or r.admitted_at
    if start is None:
        return None
    end = r.finished_at if r.state in FINAL_STATES else now
    if end is None:
        end = now
    return start, max(start, end)


def gpu_hours(r: JobRecord, now: float, since: float = float("-inf"), until: float = float("inf")) -> float:
    held = span(r, now)
    if held is None:
        return 0.0
    start, end = max(held[0], since), min(held[1], until, now)
    return r.gpus * max(0.0, end - start) / 3600.0


@dataclass(frozen=True)
class Row:
    group: str
    jobs: int
    gpu_hours: float
    cost: float | None  # None when the policy has no price for some GPU type in the group


def group_of(r: JobRecord, by: str) -> str:
    return r.owner if by == "user" else r.team if by == "team" else r.gpu_type


def report_rows(records: Iterable[JobRecord], by: str, since: float, now: float,
                prices: Mapping[str, float]) -> list[Row]:
    """One row per group with GPU time in [since, now], most GPU-hours first."""
    hours: dict[str, float] = {}
    jobs: dict[str, int] = {}
    cost: dict[str, float | None] = {}
    for r in records:
        h = gpu_hours(r, now, since, now)
        if h <= 0:
            continue
        g = group_of(r, by)
        hours[g] = hours.get(g, 0.0) + h
        jobs[g] = jobs.get(g, 0) + 1
        price = prices.get(r.gpu_type)
        before = cost.get(g, 0.0)
        cost[g] = None if price is None or before is None else before + h * price
    rows = [Row(g, jobs[g], hours[g], cost[g] if prices else None) for g in hours]
    return sorted(rows, key=lambda row: (-row.gpu_hours, row.group))


def finished_within(records: Iterable[JobRecord], since: float, state_filter: Iterable[str] | None) -> list[JobRecord]:
    """Finished jobs that ended at or after ``since`` (optionally in the given record states), newest first."""
    wanted = set(state_filter) if state_filter is not None else None
    out = [r for r in records if r.state in FINAL_STATES and (r.finished_at or 0.0) >= since
           and (wanted is None or r.state in wanted)]
    return sorted(out, key=lambda r: r.finished_at or 0.0, reverse=True)
