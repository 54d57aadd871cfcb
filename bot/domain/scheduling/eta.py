"""Estimated start times: the queue simulated forward, every running job taking its full time limit.

Pure. The simulation uses the very admission rules the dispatcher applies (``plan_admissions``),
so when jobs do run to their limits and nothing new arrives, the estimate is the start. Jobs that do
not start within the horizon get no estimate (``None``) rather than a made-up one.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import replace

from bot.domain.scheduling.admission import plan_admissions
from bot.domain.scheduling.fair_share import Usage, accrue, share_ratios
from bot.domain.scheduling.model import PRIORITY_RANK, QueuedJob, RunningJob, SchedState, order_queue

CHURN_ABS_S = 300.0  # an estimate moving by less than 5 minutes...
CHURN_REL = 0.05  # ...or by less than 5% of the wait is not news


def estimate(
    state: SchedState,
    horizon_s: float = 7 * 86400.0,
    max_events: int = 20_000,
    *,
    usage: Mapping[str, Usage] | None = None,
    half_life_s: float = 86400.0,
) -> dict[str, float | None]:
    """Estimated start (epoch s) of every queued job in ``state``; None beyond the horizon.

    With ``usage`` (each team's decayed GPU-hours now) the simulation also lets fair share evolve:
    simulated jobs accrue usage and the queue is re-ordered at each simulated instant, as the
    dispatcher will do, so a team that is about to fall behind its share is estimated to.
    """
    now = state.now
    team_usage = {t: Usage(u.gpu_hours, now) for t, u in usage.items()} if usage is not None else None
    free = {t: dict(v) for t, v in state.free.items()}
    running = list(state.running)
    # each instant a running (or draining) job gives its GPUs back
    ends: list[tuple[float, int, str, tuple[tuple[str, int], ...]]] = []
    for i, r in enumerate(running):
        heapq.heappush(ends, (r.end_at, i, r.gpu_type, r.placement))
    n = len(running)
    for gpu_type, by_node in state.draining.items():
        heapq.heappush(ends, (now + state.drain_s, n, gpu_type, tuple(by_node.items())))
        n += 1
    queue = list(state.queue)
    out: dict[str, float | None] = {j.key: None for j in queue}
    t = now
    draining = state.draining
    last_ranking: list[tuple[str, str, bool]] | None = None
    for _ in range(max_events):
        drain_left = max(0.0, now + state.drain_s - t)
        sim = replace(state, now=t, free=free, running=running, queue=queue, draining=draining, drain_s=drain_left)
        plan = plan_admissions(sim, explain=False)
        if plan.starts:
            started = set()
            for s in plan.starts:
                out[s.job.key] = t
                started.add(s.job.key)
                placement = tuple((node, s.job.gpus_per_node) for node in s.nodes)
                r = RunningJob(s.job.key, s.job.team, s.job.gpu_type, placement, t + s.job.time_limit_s,
                               s.job.priority, s.over_quota, t)
                running.append(r)
                heapq.heappush(ends, (r.end_at, n, r.gpu_type, placement))
                n += 1
            free = plan.free_after
            queue = [j for j in queue if j.key not in started]
        if not queue or not ends:
            break
        t = ends[0][0]
        if t > now + horizon_s:
            break
        while ends and ends[0][0] <= t:
            _, _, gpu_type, placement = heapq.heappop(ends)
            by_node = free.setdefault(gpu_type, {})
            for node, gpus in placement:
                by_node[node] = by_node.get(node, 0) + gpus
        if draining and t >= now + state.drain_s:
            draining = {}
        if team_usage is not None:
            held: dict[str, int] = {}
            for r in running:  # held from the previous instant up to t
                held[r.team] = held.get(r.team, 0) + r.gpus
            team_usage = {k: accrue(u, held.get(k, 0), t, half_life_s) for k, u in team_usage.items()}
            ratios = share_ratios({k: u.gpu_hours for k, u in team_usage.items()}, state.quotas)
            ranking = _ranking(queue, ratios)
            if ranking != last_ranking:  # the teams' places changed: re-order (else the order stands)
                queue = order_queue(queue, ratios)
                last_ranking = ranking
        running = [r for r in running if r.end_at > t]
    return out


def _ranking(queue: list[QueuedJob], ratios: Mapping[str, float]) -> list[tuple[str, str, bool]]:
    """The (priority, team) groups in the order ``order_queue`` ranks them, each marked when it ties with
    the one before (then they are merged by sequence): the same ranking gives the same order."""
    keys = sorted((PRIORITY_RANK.get(p, 1), ratios.get(team, 0.0), p, team) for p, team in
                  {(j.priority, j.team) for j in queue})
    return [(k[2], k[3], i > 0 and k[:2] == keys[i - 1][:2]) for i, k in enumerate(keys)]


def changed_meaningfully(old: float | None, new: float | None, now: float) -> bool:
    """True when a stored estimate should be replaced (and the card updated): not for jitter."""
    if old is None or new is None:
        return old is not new
    wait = max(0.0, new - now)
    return abs(new - old) > max(CHURN_ABS_S, CHURN_REL * wait)
