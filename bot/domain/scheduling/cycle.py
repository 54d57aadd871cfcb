"""One scheduling cycle, pure: a picture of the books and the cluster → what to do about it.

``decide`` turns a ``Books`` picture (records in Redis, nodes and pods in Kubernetes, the stored
fair-share usage) into starts, preemptions, promotions (over-quota jobs whose team is back under
quota) and the ordered queue; ``explain`` says why each job that does not start waits, and when it
should start. The dispatcher does the reading before and the writing after; nothing here does I/O,
so every decision is unit- and property-tested without a server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from bot.domain.jobs import JobRecord
from bot.domain.policy.config import Policy
from bot.domain.scheduling.admission import plan_admissions
from bot.domain.scheduling.eta import estimate
from bot.domain.scheduling.fair_share import Usage, accrue, share_ratios
from bot.domain.scheduling.model import (
    ClusterFacts,
    Plan,
    QueuedJob,
    RunningJob,
    SchedState,
    Start,
    Why,
    order_queue,
    place_gang,
    reserve,
)
from bot.domain.scheduling.preemption import Preemption, PreemptionPlan, plan_preemptions
from bot.domain.scheduling.queue_index import QueueIndex


@dataclass(frozen=True)
class Books:
    """What one cycle looks at: read by the dispatcher, in one pass."""

    now: float
    facts: ClusterFacts
    active: Sequence[JobRecord]  # records that hold GPUs in our books (admitted, pending, running)
    queued: Sequence[tuple[JobRecord, int]]  # (record, submit sequence)
    in_cluster: frozenset[str] = frozenset()  # job keys that have a Kubernetes Job (in any phase)
    pods: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # job key → node → GPUs held
    bound_pods: Mapping[str, int] = field(default_factory=dict)  # job key → pods bound to a node
    usage: Mapping[str, Usage] = field(default_factory=dict)  # fair-share usage as stored
    # the queue kept in memory by the dispatcher (``queued`` is then empty): read only as far as needed
    index: QueueIndex | None = None


@dataclass
class Decision:
    state: SchedState
    usage: dict[str, Usage]  # accrued up to ``now``: to be stored
    records: dict[str, JobRecord]  # the queued records the plan considered (empty with an index)
    plan: Plan
    preemption: PreemptionPlan
    promotions: list[str]  # over-quota running jobs that are in quota now (no longer preemptible)
    mark: str  # changes when the queue or the running set changes (explanations are redone then)

    @property
    def starts(self) -> list[Start]:
        return self.plan.starts

    @property
    def preemptions(self) -> list[Preemption]:
        return self.preemption.preemptions

    @property
    def queue(self) -> Sequence[QueuedJob]:
        return self.state.queue


WaitKind = Literal["why", "preempting", "draining", "kept"]


@dataclass(frozen=True)
class Waiting:
    """Why a queued job does not start in this cycle, and when it should."""

    key: str
    kind: WaitKind  # why: the plan's reason; preempting: victims are leaving for it; draining: GPUs
    # are being freed by a preemption's grace period; kept: no new reason (the record's stays)
    eta: float | None
    why: Why | None = None
    victims: int = 0
    gpus: int = 0
    gpu_type: str = ""


def queued_job(r: JobRecord, seq: int) -> QueuedJob:
    """The scheduler's view of a queued record (``seq``: its submit order)."""
    return QueuedJob(r.key, r.team, r.gpu_type, r.nodes, r.gpus_per_node, r.time_limit_s, r.priority, seq)


def quotas_of(policy: Policy) -> dict[str, int]:
    return {name: team.gpu_quota for name, team in policy.teams.items()}


def ordered(queued: Sequence[tuple[JobRecord, int]], usage: Mapping[str, Usage], quotas: Mapping[str, int],
            ) -> list[JobRecord]:
    """The queued records in the order the scheduler considers them (what ``/gpu queue`` shows)."""
    ratios = share_ratios({t: u.gpu_hours for t, u in usage.items()}, quotas)
    by_key = {r.key: r for r, _ in queued}
    return [by_key[j.key] for j in order_queue([queued_job(r, seq) for r, seq in queued], ratios)]


def _running(books: Books, free: dict[str, dict[str, int]]) -> list[RunningJob]:
    running: list[RunningJob] = []
    for r in books.active:
        placement = dict(books.pods.get(r.key, {}))
        # Pods not bound yet still hold their GPUs in our books: reserve a spot for them.
        missing = r.nodes - books.bound_pods.get(r.key, 0)
        by_node = free.get(r.gpu_type, {})
        if missing > 0 and (spot := place_gang(by_node, missing, r.gpus_per_node)):
            reserve(by_node, spot, r.gpus_per_node)
            for n in spot:
                placement[n] = placement.get(n, 0) + r.gpus_per_node
        start = r.started_at or r.admitted_at or books.now
        running.append(RunningJob(r.key, r.team, r.gpu_type, tuple(placement.items()), start + r.time_limit_s,
                                  r.priority, r.over_quota, start))
    return running


def _draining(books: Books) -> dict[str, dict[str, int]]:
    """GPUs held by pods of jobs that no longer run in our books (preempted or stopped, in their grace
    period): busy now, free soon."""
    node_type = {n.name: n.gpu_type for n in books.facts.nodes if n.gpu_type}
    live = {r.key for r in books.active}
    draining: dict[str, dict[str, int]] = {}
    for key, on_nodes in books.pods.items():
        if key in live:
            continue
        for node, gpus in on_nodes.items():
            t = node_type.get(node)
            if t:
                draining.setdefault(t, {})[node] = draining.get(t, {}).get(node, 0) + gpus
    return draining


def _accrue(policy: Policy, running: list[RunningJob], books: Books, quotas: Mapping[str, int]) -> dict[str, Usage]:
    held: dict[str, int] = {}
    for r in running:
        held[r.team] = held.get(r.team, 0) + r.gpus
    half_life = float(policy.scheduler.fair_share_half_life)
    return {t: accrue(books.usage.get(t, Usage()), held.get(t, 0), books.now, half_life) for t in quotas}


def promotions(state: SchedState, plan: Plan) -> list[str]:
    """Over-quota jobs whose team is back under quota, oldest first (this plan's in-quota starts count first)."""
    used: dict[str, int] = {}
    for r in state.running:
        if not r.over_quota:
            used[r.team] = used.get(r.team, 0) + r.gpus
    for s in plan.starts:
        if not s.over_quota:
            used[s.job.team] = used.get(s.job.team, 0) + s.job.gpus
    out: list[str] = []
    for r in sorted((r for r in state.running if r.over_quota), key=lambda r: r.started_at):
        if used.get(r.team, 0) + r.gpus <= state.quotas.get(r.team, 0):
            used[r.team] = used.get(r.team, 0) + r.gpus
            out.append(r.key)
    return out


def decide(policy: Policy, books: Books) -> Decision:
    """Who starts, who is preempted for whom, who is promoted, in what order the queue stands."""
    free = {t: books.facts.free_by_node(t) for t in policy.gpu_types}
    running = _running(books, free)
    quotas = quotas_of(policy)
    usage = _accrue(policy, running, books, quotas)
    ratios = share_ratios({t: u.gpu_hours for t, u in usage.items()}, quotas)
    # a re-queued job whose old Job is still being deleted waits until it is gone
    records = {r.key: r for r, _ in books.queued if r.key not in books.in_cluster}
    queue: Sequence[QueuedJob]
    if books.index is not None:
        queue = books.index.ordered(ratios, skip=books.in_cluster)
    else:
        queue = order_queue([queued_job(r, seq) for r, seq in books.queued if r.key in records], ratios)
    state = SchedState(books.now, free, running, queue, quotas, _draining(books),
                       drain_s=float(policy.job_defaults.termination_grace_period_s),
                       backfill_depth=policy.scheduler.backfill_depth)
    plan = plan_admissions(state, explain=False)  # the decision; the reasons are worked out by explain
    pre = plan_preemptions(state, plan)
    # a running job's end is in it too: `/gpu extend` moves the estimates of everyone behind at once
    ends = [f"{r.key}@{r.end_at:.0f}" for r in running]
    if books.index is not None:
        mark = books.index.mark(ratios, ends)
    else:
        mark = hashlib.sha1("|".join([*(j.key for j in queue), *ends]).encode()).hexdigest()
    return Decision(state, usage, records, plan, pre, promotions(state, plan), mark)


def explain(policy: Policy, d: Decision, depth: int | None = None) -> list[Waiting]:
    """Every queued job that does not start in ``d`` (or the first ``depth`` of them by position): why
    it waits and its estimated start. The jobs further back are not simulated ("later")."""
    started = {s.job.key for s in d.plan.starts}
    state = d.state
    if depth is not None:
        head: list[QueuedJob] = []
        shown = 0
        for j in d.state.queue:  # the first ``depth`` waiting, and every job that starts now
            if j.key in started:
                head.append(j)
            elif shown < depth:
                head.append(j)
                shown += 1
            if shown >= depth and len(head) >= depth + len(started):
                break
        state = replace(d.state, queue=head)
    waiting = [j for j in state.queue if j.key not in started]
    if not waiting:
        return []
    sched = policy.scheduler
    plan = plan_admissions(state, explain=True)  # the same decision, now with every waiting job's why
    etas = estimate(state, float(sched.eta_horizon), usage=d.usage, half_life_s=float(sched.fair_share_half_life))
    preempting: dict[str, int] = {}
    for p in d.preemption.preemptions:
        preempting[p.for_key] = preempting.get(p.for_key, 0) + 1
    out: list[Waiting] = []
    for j in waiting:
        eta = etas.get(j.key)
        why = plan.waits.get(j.key)
        if j.key in preempting:
            out.append(Waiting(j.key, "preempting", eta, victims=preempting[j.key]))
        elif j.key in d.preemption.waiting_for_drain:
            out.append(Waiting(j.key, "draining", eta, gpus=j.gpus, gpu_type=j.gpu_type))
        elif why is not None:
            out.append(Waiting(j.key, "why", eta, why=why))
        else:
            out.append(Waiting(j.key, "kept", eta))
    return out
