"""Who starts now: in-quota jobs in order with EASY backfill, then over-quota jobs on idle GPUs.

Pure, and bounded: after the first job that cannot start, at most ``backfill_depth`` more are tried
(Slurm's ``bf_max_job_test``), and most are turned away by two integer comparisons (GPUs free of the
type, widest hole), so a decision over 10,000 queued jobs costs about the same as over 1,000.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.domain.scheduling.model import (
    PRIORITY_RANK,
    Head,
    Plan,
    QueuedJob,
    SchedState,
    Start,
    Why,
    WhyKind,
    borrowed_use,
    in_quota_use,
    place_gang,
    reserve,
)
from bot.domain.scheduling.queue_index import LazyQueue


def shadow(
    free_now: dict[str, int], releases: Sequence[tuple[float, Sequence[tuple[str, int]]]], job: QueuedJob
) -> Head:
    """When ``job`` fits if GPUs come back at the given (time, placement) releases, sorted by time."""
    free = dict(free_now)
    for at, placement in releases:
        for node, gpus in placement:
            if node in free:
                free[node] += gpus
        spot = place_gang(free, job.nodes, job.gpus_per_node)
        if spot is not None:
            reserve(free, spot, job.gpus_per_node)
            return Head(job.key, at, free, job)
    return Head(job.key, None, {}, job)


def _releases(state: SchedState, gpu_type: str, started: list[Start]) -> list[tuple[float, list[tuple[str, int]]]]:
    out: list[tuple[float, list[tuple[str, int]]]] = [
        (r.end_at, list(r.placement)) for r in state.running if r.gpu_type == gpu_type
    ]
    out += [(state.now + s.job.time_limit_s, [(n, s.job.gpus_per_node) for n in s.nodes])
            for s in started if s.job.gpu_type == gpu_type]
    draining = state.draining.get(gpu_type)
    if draining:
        out.append((state.now + state.drain_s, list(draining.items())))
    out.sort(key=lambda e: e[0])
    return out


class _Pool:
    """The free GPUs of one type during a pass, and (once it has a head) what backfill may use."""

    __slots__ = ("capped", "capped_total", "capped_widest", "free", "head", "total", "widest")

    def __init__(self, free: dict[str, int]) -> None:
        self.free = free
        self.total = sum(free.values())
        self.widest = max(free.values(), default=0)
        self.head: Head | None = None
        # min(free now, free at the head's start beyond what the head takes): for jobs that would
        # still run when the head starts
        self.capped: dict[str, int] = {}
        self.capped_total = 0
        self.capped_widest = 0

    def set_head(self, head: Head) -> None:
        self.head = head
        if head.shadow is not None:
            self.capped = {n: min(f, head.extra.get(n, 0)) for n, f in self.free.items()}
            self.capped_total = sum(self.capped.values())
            self.capped_widest = max(self.capped.values(), default=0)

    def guarded(self, now: float, j: QueuedJob) -> bool:
        """True when ``j`` would still run at the head's start (so it must leave the head's GPUs)."""
        h = self.head
        return h is not None and h.shadow is not None and now + j.time_limit_s > h.shadow

    def place(self, j: QueuedJob, guarded: bool) -> list[str] | None:
        gpus = j.nodes * j.gpus_per_node
        if guarded:
            if self.capped_total < gpus or self.capped_widest < j.gpus_per_node:
                return None
            return place_gang(self.capped, j.nodes, j.gpus_per_node)
        if self.total < gpus or self.widest < j.gpus_per_node:
            return None
        return place_gang(self.free, j.nodes, j.gpus_per_node)

    def take(self, spot: list[str], gpus_per_node: int, guarded: bool) -> None:
        reserve(self.free, spot, gpus_per_node)
        self.total -= gpus_per_node * len(spot)
        self.widest = max(self.free.values(), default=0)
        h = self.head
        if h is None or h.shadow is None:
            return
        if guarded:
            reserve(h.extra, spot, gpus_per_node)
        for n in spot:
            self.capped[n] = min(self.free[n], h.extra.get(n, 0))
        self.capped_total = sum(self.capped.values())
        self.capped_widest = max(self.capped.values(), default=0)


def plan_admissions(state: SchedState, *, explain: bool = True, scan: bool = True) -> Plan:
    """Who starts now, in order: in-quota jobs with EASY backfill, then over-quota jobs on idle GPUs.

    A job that cannot start becomes its GPU type's head: its start is estimated from running jobs'
    limits and the GPUs it will take then are reserved. A later job of that type starts now only if
    it fits in today's free GPUs and either ends before the head's start or leaves the head's GPUs
    alone. Over-quota jobs run only on types no in-quota job is waiting for. ``explain=False`` skips
    the reasons of jobs that wait (what the ETA simulation and the admission decision need).

    A decision over a ``LazyQueue`` (the dispatcher's, 100,000 jobs) does not read the jobs of a team
    at its quota one by one: they can only be over quota, and they only matter when GPUs stay idle for
    over-quota jobs at the end; then (rarely) the plan is made again reading every job.
    """
    plan = Plan(free_after={t: dict(by_node) for t, by_node in state.free.items()})
    pools = {t: _Pool(by_node) for t, by_node in plan.free_after.items()}
    empty = _Pool({})
    used = in_quota_use(state.running)
    waiting_types: set[str] = set()
    over: list[QueuedJob] = []
    ahead: dict[str, list[int]] = {}  # type → waiting jobs seen so far per priority rank
    depth = state.backfill_depth
    blocked, blocked_at = False, 0
    now, quotas = state.now, state.quotas
    full: set[str] | None = None  # teams at their quota whose jobs the scan leaves out
    items: Iterable[tuple[QueuedJob, int]]
    if scan and not explain and isinstance(state.queue, LazyQueue):
        full = {t for t, quota in quotas.items() if used.get(t, 0) >= quota}
        items = state.queue.scan(full)
    else:
        items = ((j, k) for k, j in enumerate(state.queue))
    for j, place in items:
        if blocked and place - blocked_at > depth:  # examined since the first blocked one (bf_max_job_test)
            if not explain:
                break
            _wait(plan, j, ahead, Why("behind", j.gpus, j.gpu_type))
            continue
        team, gpus = j.team, j.nodes * j.gpus_per_node
        if used.get(team, 0) + gpus > quotas.get(team, 0):
            over.append(j)
            continue
        t = j.gpu_type
        pool = pools.get(t, empty)
        guarded = pool.guarded(now, j)
        spot = pool.place(j, guarded)
        if spot is not None:
            pool.take(spot, j.gpus_per_node, guarded)
            used[team] = used.get(team, 0) + gpus
            plan.starts.append(Start(j, spot))
            if full is not None and used[team] >= quotas.get(team, 0):
                full.add(team)
            continue
        if not blocked:
            blocked_at = place
        blocked = True
        waiting_types.add(t)
        if pool.head is None and pool is not empty:
            head = shadow(pool.free, _releases(state, t, plan.starts), j)
            pool.set_head(head)
            plan.heads[t] = head
            draining = sum(state.draining.get(t, {}).values())
            _wait(plan, j, ahead, Why("draining" if draining else "capacity", j.gpus, t, pool.total), is_head=True)
        else:
            _wait(plan, j, ahead, Why("behind", j.gpus, t, pool.total))
    if full and any(p.total > 0 and t not in waiting_types for t, p in pools.items()):
        return plan_admissions(state, explain=False, scan=False)  # idle GPUs the left-out jobs may borrow
    borrowed = borrowed_use(state.running) if explain else {}
    for j in over:
        t = j.gpu_type
        pool = pools.get(t, empty)
        spot = None if t in waiting_types else pool.place(j, False)
        if spot is not None:
            pool.take(spot, j.gpus_per_node, False)
            plan.starts.append(Start(j, spot, over_quota=True))
            if explain:  # what the jobs behind it are told counts this borrowing too
                borrowed[j.team] = borrowed.get(j.team, 0) + j.gpus
        elif explain:
            kind: WhyKind = "quota" if t in waiting_types or pool.total == 0 else "idle_only"
            plan.waits[j.key] = Why(kind, j.gpus, t, pool.total, used.get(j.team, 0), quotas.get(j.team, 0), j.team,
                                    borrowed=borrowed.get(j.team, 0))
    return plan


def _wait(plan: Plan, j: QueuedJob, ahead: dict[str, list[int]], why: Why, *, is_head: bool = False) -> None:
    counts = ahead.get(j.gpu_type)
    if counts is None:
        counts = ahead[j.gpu_type] = [0, 0, 0]
    rank = PRIORITY_RANK.get(j.priority, 1)
    if not is_head:
        higher = counts[0] if rank == 1 else counts[0] + counts[1] if rank == 2 else 0
        if higher:
            top = "high" if counts[0] else "normal"
            why = Why("behind", why.gpus, why.gpu_type, why.free, ahead=higher, ahead_priority=top)
        elif why.kind == "behind":
            why = Why("behind", why.gpus, why.gpu_type, why.free, ahead=counts[rank])
    counts[rank] += 1
    plan.waits[j.key] = why
