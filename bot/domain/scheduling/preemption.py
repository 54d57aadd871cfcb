"""Preemption: which running jobs give way so that a blocked in-quota job can start.

Pure. Victims are over-quota jobs first, then ``low`` ones (only for a preemptor above ``low``, so
equals never evict each other), youngest first within each group, and only as many as needed:
after the first prefix that makes the gang fit, each chosen victim that is not needed after all is
handed back. GPUs already draining (pods of jobs preempted earlier, still in their grace period)
count as free here, so a pass never evicts twice for the same need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.scheduling.model import PRIORITY_RANK, Plan, RunningJob, SchedState, place_gang


@dataclass(frozen=True)
class Preemption:
    victim: RunningJob
    for_key: str  # the job it makes room for


@dataclass
class PreemptionPlan:
    preemptions: list[Preemption] = field(default_factory=list)
    waiting_for_drain: set[str] = field(default_factory=set)  # heads that fit once draining pods exit


def _fits(free: dict[str, int], nodes: int, gpus_per_node: int) -> bool:
    return place_gang(free, nodes, gpus_per_node) is not None


def _add(free: dict[str, int], victim: RunningJob, sign: int) -> None:
    for node, gpus in victim.placement:
        if node in free:
            free[node] += sign * gpus


def plan_preemptions(state: SchedState, plan: Plan) -> PreemptionPlan:
    """For each GPU type whose head (an in-quota job) cannot start: the fewest victims that fit it."""
    out = PreemptionPlan()
    taken: set[str] = set()
    for gpu_type, head in plan.heads.items():
        job = head.job
        if job is None:
            continue
        free = dict(plan.free_after.get(gpu_type, {}))
        for node, gpus in state.draining.get(gpu_type, {}).items():
            if node in free:
                free[node] += gpus
        if _fits(free, job.nodes, job.gpus_per_node):
            out.waiting_for_drain.add(job.key)
            continue
        rank = PRIORITY_RANK.get(job.priority, 1)
        mine = [r for r in state.running if r.gpu_type == gpu_type and r.key not in taken]
        over = sorted((r for r in mine if r.over_quota), key=lambda r: -r.started_at)
        low = sorted(
            (r for r in mine if not r.over_quota and r.priority == "low" and rank < PRIORITY_RANK["low"]),
            key=lambda r: -r.started_at,
        )
        chosen: list[RunningJob] = []
        for victim in [*over, *low]:
            _add(free, victim, +1)
            chosen.append(victim)
            if _fits(free, job.nodes, job.gpus_per_node):
                break
        else:
            continue  # even every candidate together is not enough: evict nobody
        # hand back the ones not needed after all (older first: they have the most work to lose)
        for victim in sorted(chosen[:-1], key=lambda r: r.started_at):
            _add(free, victim, -1)
            if _fits(free, job.nodes, job.gpus_per_node):
                chosen.remove(victim)
            else:
                _add(free, victim, +1)
        for victim in chosen:
            taken.add(victim.key)
            out.preemptions.append(Preemption(victim, job.key))
    return out
