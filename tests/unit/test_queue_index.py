"""The queue kept in memory (QueueIndex): the same order and the same decisions as the queue rebuilt each pass."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.scheduling.admission import plan_admissions
from bot.domain.scheduling.model import QueuedJob, RunningJob, SchedState, order_queue
from bot.domain.scheduling.preemption import plan_preemptions
from bot.domain.scheduling.queue_index import QueueIndex

TEAMS = ("a", "b", "c")
TYPES = ("h100", "l40s")
PRIORITIES = ("low", "normal", "high")


@st.composite
def pictures(draw: st.DrawFn) -> tuple[SchedState, list[QueuedJob], dict[str, float]]:
    nodes = {f"n{i}": (draw(st.sampled_from(TYPES)), draw(st.sampled_from((4, 8))))
             for i in range(draw(st.integers(1, 5)))}
    quotas = {t: draw(st.integers(0, 24)) for t in TEAMS}
    held: dict[str, int] = defaultdict(int)
    used: dict[str, int] = defaultdict(int)
    running: list[RunningJob] = []
    for i in range(draw(st.integers(0, 10))):
        node = draw(st.sampled_from(sorted(nodes)))
        gpu_type, cap = nodes[node]
        gpus = draw(st.integers(1, cap))
        if held[node] + gpus > cap:
            continue
        team = draw(st.sampled_from(TEAMS))
        over = used[team] + gpus > quotas[team]
        if not over:
            used[team] += gpus
        held[node] += gpus
        running.append(RunningJob(f"r{i}", team, gpu_type, ((node, gpus),), draw(st.floats(1, 1e5)),
                                  draw(st.sampled_from(PRIORITIES)), over, float(i)))
    free: dict[str, dict[str, int]] = defaultdict(dict)
    for node, (gpu_type, cap) in nodes.items():
        free[gpu_type][node] = cap - held[node]
    seqs = draw(st.lists(st.integers(1, 10_000), min_size=0, max_size=40, unique=True))
    queue = [QueuedJob(f"q{s}", draw(st.sampled_from(TEAMS)), draw(st.sampled_from(TYPES)), draw(st.integers(1, 2)),
                       draw(st.sampled_from((1, 2, 4, 8))), draw(st.sampled_from((60.0, 3600.0, 86400.0))),
                       draw(st.sampled_from(PRIORITIES)), s) for s in seqs]
    ratios = {t: draw(st.sampled_from((0.0, 0.5, 1.0, 2.0))) for t in TEAMS}  # ties: groups merged by sequence
    state = SchedState(0.0, dict(free), running, [], quotas, backfill_depth=draw(st.integers(1, 6)))
    return state, queue, ratios


def _index(queue: list[QueuedJob]) -> QueueIndex:
    index = QueueIndex()
    for j in queue:
        index.put(j)
    return index


def _decision(state: SchedState) -> tuple[object, ...]:
    plan = plan_admissions(state, explain=False)
    pre = plan_preemptions(state, plan)
    return ([(s.job.key, tuple(s.nodes), s.over_quota) for s in plan.starts], sorted(plan.heads),
            plan.free_after, [(p.victim.key, p.for_key) for p in pre.preemptions], sorted(pre.waiting_for_drain))


@settings(max_examples=400, deadline=None)
@given(pictures())
def test_the_index_orders_and_decides_as_the_rebuilt_queue(picture: tuple[SchedState, list[QueuedJob],
                                                                        dict[str, float]]) -> None:
    state, queue, ratios = picture
    rebuilt = order_queue(queue, ratios)
    index = _index(queue)
    assert list(index.ordered(ratios)) == rebuilt
    assert _decision(replace(state, queue=index.ordered(ratios))) == _decision(replace(state, queue=rebuilt))


@settings(max_examples=200, deadline=None)
@given(pictures(), st.data())
def test_the_index_follows_changes(picture: tuple[SchedState, list[QueuedJob], dict[str, float]],
                                   data: st.DataObject) -> None:
    _, queue, ratios = picture
    index = _index(queue)
    alive = {j.key: j for j in queue}
    for j in queue:
        what = data.draw(st.sampled_from(("keep", "drop", "change")))
        if what == "drop":
            index.drop(j.key)
            del alive[j.key]
        elif what == "change":  # e.g. a new priority: it moves to another group, keeping its sequence
            moved = replace(j, priority=data.draw(st.sampled_from(PRIORITIES)))
            index.put(moved)
            alive[j.key] = moved
    skip = set(list(alive)[:2])
    assert list(index.ordered(ratios, skip)) == order_queue([j for k, j in alive.items() if k not in skip], ratios)
    assert len(index) == len(alive)
    assert sum(index.depth_by_type().values()) == len(alive)


def test_a_read_order_stays_as_it_was_when_the_index_changes() -> None:
    jobs = [QueuedJob(f"q{i}", "a", "h100", 1, 1, 60.0, "normal", i) for i in range(1, 6)]
    index = _index(jobs)
    order = index.ordered({})
    index.drop("q1")
    index.put(QueuedJob("q9", "a", "h100", 1, 1, 60.0, "normal", 9))
    assert [j.key for j in order] == ["q1", "q2", "q3", "q4", "q5"]
    assert [j.key for j in index.ordered({})] == ["q2", "q3", "q4", "q5", "q9"]


def test_jobs_left_out_of_the_scan_still_count_towards_the_backfill_depth() -> None:
    # team a is at its quota (its jobs are left out of the scan); b1 blocks; with a depth of 3, the
    # three jobs of a behind it use up the depth, so b5 is not examined, as when every job is read
    def q(key: str, team: str, gpus: int, seq: int) -> QueuedJob:
        return QueuedJob(key, team, "h100", 1, gpus, 60.0, "normal", seq)

    queue = [q("b1", "b", 8, 1), q("a2", "a", 1, 2), q("a3", "a", 1, 3), q("a4", "a", 1, 4), q("b5", "b", 1, 5)]
    running = [RunningJob("r", "a", "h100", (("n0", 4),), 1e5, "normal", False, 0.0)]
    state = SchedState(0.0, {"h100": {"n0": 4}}, running, [], {"a": 4, "b": 8}, backfill_depth=3)
    lazy = plan_admissions(replace(state, queue=_index(queue).ordered({})), explain=False)
    assert _decision(replace(state, queue=_index(queue).ordered({}))) == _decision(replace(state, queue=queue))
    assert lazy.starts == [] and sorted(lazy.heads) == ["h100"]
    deeper = replace(state, backfill_depth=4)  # a depth that reaches b5: it backfills (1 GPU for 60 s)
    starts = plan_admissions(replace(deeper, queue=_index(queue).ordered({})), explain=False).starts
    assert [s.job.key for s in starts] == ["b5"]
