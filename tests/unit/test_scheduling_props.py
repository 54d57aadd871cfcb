"""Invariants of the scheduler, over random clusters and queues (hypothesis)."""

from __future__ import annotations

from collections import defaultdict

import fakeredis
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.redis.queue_store import QueueStore
from bot.domain.jobs import RUNNING_STATES, JobRecord
from bot.domain.scheduling.admission import plan_admissions
from bot.domain.scheduling.eta import estimate
from bot.domain.scheduling.model import QueuedJob, RunningJob, SchedState, in_quota_use, order_queue
from bot.domain.scheduling.preemption import plan_preemptions

TEAMS = ("a", "b", "c")
TYPES = ("h100", "l40s")


@st.composite
def states(draw: st.DrawFn) -> SchedState:
    nodes = {f"n{i}": (draw(st.sampled_from(TYPES)), draw(st.sampled_from((4, 8)))) for i in
             range(draw(st.integers(1, 6)))}
    quotas = {t: draw(st.integers(1, 24)) for t in TEAMS}
    held: dict[str, int] = defaultdict(int)
    running: list[RunningJob] = []
    used: dict[str, int] = defaultdict(int)
    for i in range(draw(st.integers(0, 8))):
        node = draw(st.sampled_from(sorted(nodes)))
        gpu_type, cap = nodes[node]
        gpus = draw(st.integers(1, cap))
        if held[node] + gpus > cap:
            continue
        team = draw(st.sampled_from(TEAMS))
        over = used[team] + gpus > quotas[team]  # a consistent past: in-quota use never exceeds quota
        if not over:
            used[team] += gpus
        held[node] += gpus
        running.append(RunningJob(f"r{i}", team, gpu_type, ((node, gpus),), draw(st.floats(1, 1e5)),
                                  draw(st.sampled_from(("low", "normal", "high"))), over, float(i)))
    free: dict[str, dict[str, int]] = defaultdict(dict)
    for node, (gpu_type, cap) in nodes.items():
        free[gpu_type][node] = cap - held[node]
    queue = []
    for i in range(draw(st.integers(0, 25))):
        n = draw(st.integers(1, 2))
        queue.append(QueuedJob(f"q{i}", draw(st.sampled_from(TEAMS)), draw(st.sampled_from(TYPES)), n,
                               draw(st.sampled_from((1, 2, 4, 8))), draw(st.sampled_from((60.0, 3600.0, 86400.0))),
                               draw(st.sampled_from(("low", "normal", "high"))), i))
    ratios = {t: draw(st.floats(0, 3)) for t in TEAMS}
    return SchedState(0.0, dict(free), running, order_queue(queue, ratios), quotas)


@settings(max_examples=300, deadline=None)
@given(states())
def test_never_more_gpus_than_free_per_node(state: SchedState) -> None:
    plan = plan_admissions(state)
    taken: dict[str, int] = defaultdict(int)
    for s in plan.starts:
        assert len(set(s.nodes)) == s.job.nodes  # a gang: one pod per distinct node, all of them
        for node in s.nodes:
            taken[node] += s.job.gpus_per_node
            assert node in state.free[s.job.gpu_type]  # the right GPU type
    for by_node in state.free.values():
        for node, free in by_node.items():
            assert taken[node] <= free


@settings(max_examples=300, deadline=None)
@given(states())
def test_never_a_team_over_quota_except_over_quota_jobs(state: SchedState) -> None:
    plan = plan_admissions(state)
    used = in_quota_use(state.running)
    for s in plan.starts:
        if not s.over_quota:
            used[s.job.team] = used.get(s.job.team, 0) + s.job.gpus
    for team, gpus in used.items():
        assert gpus <= state.quotas[team]


@settings(max_examples=300, deadline=None)
@given(states())
def test_fifo_within_equal_priority_and_share(state: SchedState) -> None:
    """Identical jobs (team, priority, shape, limit) start in submit order: the started ones are a prefix."""
    plan = plan_admissions(state)
    starting = {s.job.key for s in plan.starts}
    groups: dict[tuple[object, ...], list[QueuedJob]] = defaultdict(list)
    for j in state.queue:
        groups[(j.team, j.priority, j.gpu_type, j.nodes, j.gpus_per_node, j.time_limit_s)].append(j)
    for jobs in groups.values():
        flags = [j.key in starting for j in sorted(jobs, key=lambda j: j.seq)]
        assert flags == sorted(flags, reverse=True), flags


@settings(max_examples=200, deadline=None)
@given(states())
def test_preemption_victims_are_preemptible_and_distinct(state: SchedState) -> None:
    plan = plan_admissions(state)
    pre = plan_preemptions(state, plan)
    keys = [p.victim.key for p in pre.preemptions]
    assert len(keys) == len(set(keys))
    for p in pre.preemptions:
        assert p.victim.over_quota or p.victim.priority == "low"


@settings(max_examples=150, deadline=None)
@given(states())
def test_eta_never_in_the_past_and_now_for_those_starting(state: SchedState) -> None:
    etas = estimate(state)
    for s in plan_admissions(state).starts:
        assert etas[s.job.key] == state.now
    assert all(e is None or e >= state.now for e in etas.values())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 9), st.booleans()), min_size=1, max_size=40))
def test_a_preempted_job_is_always_requeued_at_its_place(ops: list[tuple[int, bool]]) -> None:
    store = QueueStore(fakeredis.FakeRedis(server=fakeredis.FakeServer()))
    for i in range(10):
        store.submit(JobRecord(name=f"j{i}", namespace="ns", team="a", owner="U", image="i", gpus=1,
                               gpu_type="h100", idempotency_key=f"k{i}"))
    for i, admit in ops:
        if admit:
            store.transition("ns", f"j{i}", ["queued"], "running")
        else:
            old = store.get("ns", f"j{i}")
            assert old is not None
            store.transition("ns", f"j{i}", RUNNING_STATES, "queued", preemptions=old.preemptions + 1)
        queued = [r.name for r in store.queued()]
        running = [r.name for r in store.list(states=RUNNING_STATES)]
        assert sorted(queued + running) == sorted(f"j{i}" for i in range(10))  # never lost
        assert queued == sorted(queued, key=lambda n: int(n[1:]))  # each at its submit place
