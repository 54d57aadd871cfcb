"""The scheduler's pure core on hand-made states: order, quota, backfill, gang, preemption, ETA."""

from __future__ import annotations

import pytest

from bot.domain import messages as msg
from bot.domain.jobs import JobRecord
from bot.domain.scheduling.admission import plan_admissions
from bot.domain.scheduling.eta import changed_meaningfully, estimate
from bot.domain.scheduling.fair_share import Usage, accrue, factor, share_ratios
from bot.domain.scheduling.model import QueuedJob, RunningJob, SchedState, order_queue
from bot.domain.scheduling.preemption import plan_preemptions
from bot.render.queue import queue_reply, why_text

H = 3600.0


def q(key: str, team: str = "a", gpus: int = 8, nodes: int = 1, limit: float = H, prio: str = "normal",
      seq: int = 0, gpu_type: str = "h100") -> QueuedJob:
    return QueuedJob(key, team, gpu_type, nodes, gpus // nodes, limit, prio, seq)


def run(key: str, placement: dict[str, int], end: float, team: str = "a", prio: str = "normal",
        over: bool = False, started: float = 0.0, gpu_type: str = "h100") -> RunningJob:
    return RunningJob(key, team, gpu_type, tuple(placement.items()), end, prio, over, started)


def st(free: dict[str, int], running: list[RunningJob], queue: list[QueuedJob],
       quotas: dict[str, int] | None = None, **kw: object) -> SchedState:
    return SchedState(0.0, {"h100": dict(free)}, running, queue, quotas or {"a": 64, "b": 64}, **kw)  # type: ignore[arg-type]


def started(state: SchedState) -> list[str]:
    return [s.job.key for s in plan_admissions(state).starts]


# --- order and fair share ---------------------------------------------------------------------------


def test_order_is_priority_then_fair_share_then_submit_time() -> None:
    jobs = [q("a1", "a", seq=1), q("b2", "b", seq=2), q("a3", "a", prio="high", seq=3), q("b4", "b", seq=4),
            q("a5", "a", prio="low", seq=5)]
    ordered = [j.key for j in order_queue(jobs, {"a": 1.5, "b": 0.5})]
    assert ordered == ["a3", "b2", "b4", "a1", "a5"]
    assert [j.key for j in order_queue(jobs, {})] == ["a3", "a1", "b2", "b4", "a5"]


def test_fair_share_ratio_and_factor() -> None:
    ratios = share_ratios({"a": 30.0, "b": 10.0}, {"a": 16, "b": 16})
    assert ratios["a"] == pytest.approx(1.5) and ratios["b"] == pytest.approx(0.5)
    assert factor(ratios["b"]) > factor(ratios["a"])
    assert factor(1.0) == pytest.approx(0.5)
    assert share_ratios({}, {"a": 8, "b": 8}) == {"a": 0.0, "b": 0.0}


def test_usage_decays_with_its_half_life_and_integrates_at_any_rhythm() -> None:
    u = Usage(10.0, 1000.0)
    assert accrue(u, 0, 1000.0 + 24 * H, 24 * H).gpu_hours == pytest.approx(5.0)
    one = accrue(Usage(0.0, 1.0), 8, 1.0 + 6 * H, 24 * H)
    many = Usage(0.0, 1.0)
    for i in range(1, 61):
        many = accrue(many, 8, 1.0 + i * 6 * H / 60, 24 * H)
    assert one.gpu_hours == pytest.approx(many.gpu_hours)
    assert 8 * 6 * 0.85 < one.gpu_hours < 8 * 6  # a little less than 48: the early part decayed


# --- quota and over-quota ----------------------------------------------------------------------------


def test_team_quota_caps_in_quota_jobs_others_still_start() -> None:
    state = st({"n1": 8, "n2": 8}, [run("r", {"n0": 8}, 100.0)], [q("a1", "a"), q("b1", "b")],
               quotas={"a": 8, "b": 8})
    plan = plan_admissions(state)
    assert [(s.job.key, s.over_quota) for s in plan.starts] == [("b1", False), ("a1", True)]
    # nobody in quota waits for the other node: a1 may use it, over quota and preemptible
    state2 = st({"n1": 8}, [run("r", {"n0": 8}, 100.0)], [q("a1", "a")], quotas={"a": 8, "b": 8})
    plan2 = plan_admissions(state2)
    assert [(s.job.key, s.over_quota) for s in plan2.starts] == [("a1", True)]


def test_over_quota_waits_while_someone_in_quota_waits_for_that_type() -> None:
    state = st({"n1": 4}, [run("r", {"n0": 8}, 100.0, team="a")],
               [q("a1", "a", gpus=4, seq=1), q("b1", "b", gpus=8, seq=2)], quotas={"a": 8, "b": 8})
    plan = plan_admissions(state)
    assert plan.starts == []
    why = plan.waits["a1"]
    assert why.kind == "quota" and why_text(why) == msg.sched_quota("a", 8, 8)
    assert "team quota full: 8/8" in why_text(why)


def test_over_quota_jobs_do_not_count_against_the_team_quota() -> None:
    state = st({"n1": 8}, [run("r", {"n0": 8}, 100.0, team="a", over=True)], [q("a1", "a")],
               quotas={"a": 8, "b": 8})
    assert [(s.job.key, s.over_quota) for s in plan_admissions(state).starts] == [("a1", False)]


# --- gang ----------------------------------------------------------------------------------------------


def test_gang_needs_every_node_or_none() -> None:
    state = st({"n1": 8, "n2": 4, "n3": 4}, [], [q("g", gpus=16, nodes=2)])
    plan = plan_admissions(state)
    assert plan.starts == [] and plan.waits["g"].kind == "capacity"
    assert why_text(plan.waits["g"]) == "needs 16 × h100, 16 free"
    state = st({"n1": 8, "n2": 8, "n3": 4}, [], [q("g", gpus=16, nodes=2)])
    assert sorted(plan_admissions(state).starts[0].nodes) == ["n1", "n2"]


# --- EASY backfill ------------------------------------------------------------------------------------


def test_backfill_only_when_the_head_is_not_delayed() -> None:
    # n1: 4 free, 4 busy until t=100. The head needs 8 on one node: it starts at 100 on n1.
    running = [run("r", {"n1": 4}, 100.0)]
    head = q("head", gpus=8, seq=1)
    short = q("short", gpus=4, limit=50, seq=2)  # ends before 100: harmless
    long_ = q("long", gpus=4, limit=500, seq=3)  # would hold n1 past 100: delays the head
    assert started(st({"n1": 4}, running, [head, short])) == ["short"]
    plan = plan_admissions(st({"n1": 4}, running, [head, long_]))
    assert plan.starts == [] and plan.heads["h100"].shadow == 100.0
    assert plan.waits["long"].kind == "behind" and why_text(plan.waits["long"]) == msg.sched_behind(1, None)
    # with a second node the head does not need, the long job goes there
    assert started(st({"n1": 4, "n2": 4}, running, [head, long_])) == ["long"]


def test_strict_fifo_would_leave_gpus_idle_backfill_uses_them() -> None:
    running = [run("r", {"n1": 8}, 1000.0)]
    queue = [q("big", gpus=16, nodes=2, seq=1), q("small", gpus=2, limit=100, seq=2)]
    assert started(st({"n2": 8}, running, queue)) == ["small"]


def test_reason_behind_higher_priority_jobs() -> None:
    queue = [q("h1", prio="high", seq=1), q("h2", prio="high", seq=2), q("n1", seq=3)]
    plan = plan_admissions(st({"n1": 0}, [run("r", {"n1": 8}, 100.0)], queue))
    assert why_text(plan.waits["n1"]) == "behind 2 high-priority jobs"
    assert why_text(plan.waits["h1"]) == "needs 8 × h100, 0 free"


# --- preemption ---------------------------------------------------------------------------------------


def test_preempts_over_quota_youngest_first_just_enough() -> None:
    running = [
        run("old-over", {"n1": 4}, 9e9, team="b", over=True, started=10.0),
        run("young-over", {"n1": 4}, 9e9, team="b", over=True, started=20.0),
        run("b-in", {"n2": 8}, 9e9, team="b", started=5.0),
    ]
    state = st({"n1": 0, "n2": 0}, running, [q("a4", "a", gpus=4)], quotas={"a": 8, "b": 8})
    plan = plan_admissions(state)
    pre = plan_preemptions(state, plan)
    assert [p.victim.key for p in pre.preemptions] == ["young-over"]
    assert pre.preemptions[0].for_key == "a4"


def test_just_enough_hands_back_victims_not_needed() -> None:
    # youngest first picks n2's 2 GPUs (not enough alone), then n1's 8: n1 alone is enough
    running = [run("small", {"n2": 2}, 9e9, team="b", over=True, started=30.0),
               run("big", {"n1": 8}, 9e9, team="b", over=True, started=20.0)]
    state = st({"n1": 0, "n2": 4}, running, [q("a8", "a", gpus=8)], quotas={"a": 8, "b": 8})
    pre = plan_preemptions(state, plan_admissions(state))
    assert [p.victim.key for p in pre.preemptions] == ["big"]


def test_low_jobs_give_way_to_higher_but_not_to_equals() -> None:
    running = [run("low", {"n1": 8}, 9e9, team="b", prio="low", started=1.0)]
    normal = st({"n1": 0}, running, [q("a8", "a")], quotas={"a": 8, "b": 8})
    assert [p.victim.key for p in plan_preemptions(normal, plan_admissions(normal)).preemptions] == ["low"]
    low = st({"n1": 0}, running, [q("a8", "a", prio="low")], quotas={"a": 8, "b": 8})
    assert plan_preemptions(low, plan_admissions(low)).preemptions == []
    in_quota_normal = [run("n", {"n1": 8}, 9e9, team="b", started=1.0)]
    high = st({"n1": 0}, in_quota_normal, [q("h", "a", prio="high")], quotas={"a": 8, "b": 8})
    assert plan_preemptions(high, plan_admissions(high)).preemptions == []  # in-quota normal jobs stay


def test_no_second_eviction_while_victims_drain() -> None:
    running = [run("over", {"n1": 8}, 9e9, team="b", over=True, started=1.0)]
    state = st({"n1": 0}, running, [q("a8", "a")], quotas={"a": 8, "b": 8}, draining={"h100": {"n1": 8}})
    pre = plan_preemptions(state, plan_admissions(state))
    assert pre.preemptions == [] and pre.waiting_for_drain == {"a8"}


def test_nobody_is_evicted_when_it_would_not_be_enough() -> None:
    running = [run("over", {"n1": 4}, 9e9, team="b", over=True)]
    state = st({"n1": 0}, running, [q("g", "a", gpus=16, nodes=2)], quotas={"a": 16, "b": 8})
    assert plan_preemptions(state, plan_admissions(state)).preemptions == []


# --- ETA ------------------------------------------------------------------------------------------------


def test_eta_follows_running_limits_and_the_queue() -> None:
    running = [run("r1", {"n1": 8}, 100.0), run("r2", {"n2": 8}, 300.0)]
    queue = [q("first", limit=1000, seq=1), q("second", limit=50, seq=2), q("third", limit=50, seq=3)]
    etas = estimate(st({"n1": 0, "n2": 0}, running, queue))
    assert etas == {"first": 100.0, "second": 300.0, "third": 350.0}


def test_eta_counts_backfill_and_quota() -> None:
    running = [run("r1", {"n1": 8}, 100.0, team="a")]
    queue = [q("a-next", "a", seq=1), q("b-now", "b", gpus=4, seq=2)]
    etas = estimate(st({"n1": 0, "n2": 4}, running, queue, quotas={"a": 8, "b": 8}))
    assert etas == {"a-next": 100.0, "b-now": 0.0}


def test_eta_none_when_it_never_fits() -> None:
    assert estimate(st({"n1": 8}, [], [q("huge", gpus=32, nodes=4)])) == {"huge": None}


def test_eta_churn_threshold() -> None:
    now = 0.0
    assert not changed_meaningfully(3600.0, 3600.0 + 240, now)  # 4 min: jitter
    assert changed_meaningfully(3600.0, 3600.0 + 360, now)  # 6 min on a 1 h wait
    assert not changed_meaningfully(20 * H, 20 * H + 1800, now)  # 30 min on 20 h: < 5%
    assert changed_meaningfully(None, 10.0, now) and not changed_meaningfully(None, None, now)


# --- /gpu queue -------------------------------------------------------------------------------------------


def _rec(name: str, owner: str, eta: float | None, reason: str) -> JobRecord:
    return JobRecord(name=name, namespace="ns", team="a", owner=owner, image="i", gpus=8, gpu_type="h100",
                     eta=eta, reason=reason, priority="high" if name == "x" else "normal")


def test_queue_render_shows_order_eta_reason_and_highlights_the_asker() -> None:
    now = 1_700_000_000.0 - 1_700_000_000.0 % 86400  # midnight UTC
    rows = [_rec("x", "U1", now + 2 * H + 600, "needs 8 × h100, 3 free"), _rec("y", "U2", None, "behind 1 job")]
    reply = queue_reply(rows, "U2", now)
    text = str(reply.blocks_json())
    assert "*1.* `x`" in text and "high priority" in text and "02:10 UTC (in 2 h 10 min)" in text
    assert "*2.* *`y`* :point_left:" in text and "needs 8 × h100, 3 free" in text
    assert "The queue, in order: 2 jobs" in text
    many = [_rec(f"j{i}", "U1", None, "") for i in range(100)] + [_rec("mine", "U9", None, "")]
    text = str(queue_reply(many, "U9", now).blocks_json())
    assert "*101.* *`mine`*" in text and "60 more queued jobs" in text
