"""Over quota in pure logic: the reason of a job behind borrowed GPUs counts them; the card and the
list line say "over quota · preemptible"; App Home splits GPUs within quota and borrowed."""

from __future__ import annotations

from bot.domain.jobs import JobRecord
from bot.domain.scheduling.admission import plan_admissions
from bot.domain.scheduling.model import QueuedJob, RunningJob, SchedState
from bot.render.cards import job_card
from bot.render.home import HomeFacts, home_view
from bot.render.queue import queue_row, why_text
from bot.render.replies import job_line


def _state(running: list[RunningJob], queue: list[QueuedJob], free: dict[str, int]) -> SchedState:
    return SchedState(0.0, {"h100": free}, running, queue, {"a": 16, "b": 8})


def test_the_job_behind_borrowed_gpus_is_told_how_many_its_team_holds() -> None:
    running = [RunningJob("in", "a", "h100", (("n0", 8), ("n1", 8)), 3600.0),
               RunningJob("over", "a", "h100", (("n2", 8), ("n3", 8)), 3600.0, over_quota=True)]
    plan = plan_admissions(_state(running, [QueuedJob("c", "a", "h100", 1, 8, 3600.0)], {"n0": 0, "n1": 0}))
    text = why_text(plan.waits["c"])
    assert "16/16 GPUs in use" not in text
    assert "holds 32 GPUs (16/16 within quota, 16 borrowed)" in text and "8 × h100" in text


def test_a_job_that_may_borrow_idle_gpus_later_counts_this_pass_borrowing() -> None:
    running = [RunningJob("in", "a", "h100", (("n0", 8), ("n1", 8)), 3600.0)]
    queue = [QueuedJob("b1", "a", "h100", 1, 8, 3600.0, seq=1), QueuedJob("b2", "a", "h100", 2, 8, 3600.0, seq=2)]
    plan = plan_admissions(_state(running, queue, {"n2": 8}))
    assert [(s.job.key, s.over_quota) for s in plan.starts] == [("b1", True)]
    assert "holds 24 GPUs (16/16 within quota, 8 borrowed)" in why_text(plan.waits["b2"])


def _record(**kw: object) -> JobRecord:
    base: dict[str, object] = dict(name="j", namespace="ml-a", team="a", owner="U1", image="i", gpus=16,
                                   gpu_type="h100", nodes=2)
    base.update(kw)
    return JobRecord(**base)  # type: ignore[arg-type]


def test_card_list_and_queue_say_over_quota_and_making_room() -> None:
    over = _record(state="running", over_quota=True, started_at=1.0)
    assert "over quota · preemptible" in str([b.to_dict() for b in job_card(over, None, 10.0)[1]])
    assert "over quota · preemptible" in job_line(over)
    inside = _record(state="running", started_at=1.0)
    assert "over quota" not in job_line(inside)
    waiting = _record(state="queued", making_room=True, eta=None)
    assert "starting: making room" in queue_row(1, waiting, 0.0, False)
    assert "not within the next days" not in queue_row(1, waiting, 0.0, False)
    card = str([b.to_dict() for b in job_card(_record(state="queued", making_room=True, eta=99999.0), 1, 0.0)[1]])
    assert "starting: making room" in card and "expected to start" not in card


def test_home_splits_gpus_within_quota_and_borrowed() -> None:
    facts = HomeFacts([], [], [], "a", 16, 16, [], team_borrowed=16)
    shown = str(home_view(facts))
    assert "32 in use (16 within quota, 16 borrowed)" in shown and "32 of 16" not in shown
    assert "8 of 16 GPUs in use" in str(home_view(HomeFacts([], [], [], "a", 8, 16, [])))
