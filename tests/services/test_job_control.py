"""extend, hold / release, requeue and --after on in-memory ports: ownership, limits, once per request."""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import pytest

from bot.domain.actions import After, Extend, Hold, Launch, Release, Requeue
from bot.domain.errors import ForbiddenError, NotFoundError, PolicyError, Refusal, ValidationError
from bot.domain.jobs import JobRecord
from bot.domain.language.slash import command_for, parse_command
from bot.domain.policy.config import load_policy
from bot.domain.scheduling.model import NodeFacts
from bot.services.commands import CommandService, Request
from bot.services.dispatcher import Dispatcher
from bot.services.housekeeping import Housekeeping
from bot.services.job_control import JobControl
from bot.services.jobs import JobsService
from bot.services.launch import LaunchService
from bot.services.runtime import Runtime
from tests.services.fakes import FakeChat, FakeCluster, fake_runtime
from tests.support.waiting import wait

POLICY = load_policy(Path(__file__).resolve().parents[1] / "chatops.example.yaml")
NODES = [NodeFacts("h100-0", "h100", 8)]
OWNER, OTHER, ADMIN = "URES0001", "URES0002", "UADMIN01"
NS = "ml-research"
IMAGE = "ghcr.io/acme/train:1.4"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _setup() -> tuple[Runtime, FakeChat, FakeCluster, JobControl, Clock]:
    clock = Clock()
    rt, chat, cluster = fake_runtime(POLICY, nodes=NODES, clock=clock)
    return rt, chat, cluster, JobControl(rt, JobsService(rt)), clock


def _submit(rt: Runtime, name: str, gpus: int = 8, user: str = OWNER, **kw: object) -> JobRecord:
    launches = LaunchService(rt)
    a = Launch(name=name, image=IMAGE, gpus=gpus, gpu_type="h100", time_limit_s=3600, **kw)  # type: ignore[arg-type]
    launches.preview(a, user, "CRESEARCH1", f"tok-{name}")
    return launches.confirm(f"tok-{name}", user).record


def _get(rt: Runtime, name: str) -> JobRecord:
    r = rt.store.get(NS, name)
    assert r is not None
    return r


def _dispatch(rt: Runtime) -> None:
    d = Dispatcher(rt)
    d.run_pass()


def _start(rt: Runtime, cluster: FakeCluster, name: str) -> JobRecord:
    r = rt.store.transition(NS, name, ["queued", "admitted"], "running", created_at=rt.clock(),
                            started_at=rt.clock())
    assert r is not None
    cluster.created.setdefault(f"{NS}/{name}", [{"metadata": {"name": name, "namespace": NS},
                                                 "spec": {"activeDeadlineSeconds": r.time_limit_s}}])
    return r


# --- extend ---------------------------------------------------------------------------------------------


def test_extend_a_running_job_patches_its_deadline_and_the_record() -> None:
    rt, _, cluster, control, _ = _setup()
    _submit(rt, "ft")
    _start(rt, cluster, "ft")
    said = control.extend(Extend(job="ft", by_s=4 * 3600), OWNER)
    assert "Extended `ft` by 4 h" in said
    assert _get(rt, "ft").time_limit_s == 5 * 3600
    assert cluster.created[f"{NS}/ft"][0]["spec"]["activeDeadlineSeconds"] == 5 * 3600


def test_a_running_jobset_is_not_extended_and_says_why() -> None:
    rt, _, cluster, control, _ = _setup()
    _submit(rt, "js")
    rt.store.update(NS, "js", kind="jobset")
    _start(rt, cluster, "js")
    with pytest.raises(ValidationError) as err:
        control.extend(Extend(job="js", by_s=3600), OWNER)
    assert "runs as a JobSet" in err.value.why and _get(rt, "js").time_limit_s == 3600


def test_extend_a_queued_job_raises_its_limit_only() -> None:
    rt, _, cluster, control, _ = _setup()
    _submit(rt, "q")
    control.extend(Extend(job="q", by_s=1800), OWNER)
    assert _get(rt, "q").time_limit_s == 5400 and f"{NS}/q" not in cluster.created


def test_extend_never_beyond_the_policy_and_the_fix_fits() -> None:
    rt, _, _, control, _ = _setup()
    _submit(rt, "long")
    with pytest.raises(PolicyError) as err:
        control.extend(Extend(job="long", by_s=10 * 86400), OWNER)
    assert "longest time limit" in err.value.why
    fix = command_for(err.value.fix)
    assert fix == "/gpu extend long 6d23h"
    action = parse_command(fix)
    assert isinstance(action, Extend)
    control.extend(action, OWNER)
    assert _get(rt, "long").time_limit_s == POLICY.limits.max_time_limit


@pytest.mark.parametrize("by_h", [1, 24, 100, 167, 168, 500])
def test_extend_property_never_exceeds_max(by_h: int) -> None:
    rt, _, _, control, _ = _setup()
    _submit(rt, "p")
    for _ in range(3):
        with contextlib.suppress(PolicyError):
            control.extend(Extend(job="p", by_s=by_h * 3600), OWNER)
        assert _get(rt, "p").time_limit_s <= POLICY.limits.max_time_limit


def test_only_the_owner_or_an_admin_extends() -> None:
    rt, _, _, control, _ = _setup()
    _submit(rt, "mine")
    with pytest.raises(ForbiddenError) as err:
        control.extend(Extend(job="mine", by_s=3600), OTHER)
    assert "belongs to <@URES0001>" in err.value.why and command_for(err.value.fix) == "/gpu list"
    control.extend(Extend(job="mine", by_s=3600), ADMIN)
    assert _get(rt, "mine").time_limit_s == 7200


def test_policy_may_require_an_admin_beyond_n_hours() -> None:
    policy = POLICY.model_copy(update={"limits": POLICY.limits.model_copy(update={"max_extend_without_admin": 7200})})
    rt, _, _ = fake_runtime(policy, nodes=NODES)
    control = JobControl(rt, JobsService(rt))
    _submit(rt, "cap")
    with pytest.raises(ForbiddenError) as err:
        control.extend(Extend(job="cap", by_s=4 * 3600), OWNER)
    assert command_for(err.value.fix) == "/gpu extend cap 2h"
    control.extend(Extend(job="cap", by_s=4 * 3600), ADMIN)


def test_a_retried_request_extends_once() -> None:
    rt, _, _, _, _ = _setup()
    _submit(rt, "once")
    commands = CommandService(rt)
    req = Request(OWNER, "CRESEARCH1", "/gpu extend once 1h", "trigger-1")
    first, again = commands.handle(req), commands.handle(req)
    assert first.text == again.text and "Extended" in first.text
    assert _get(rt, "once").time_limit_s == 7200


def test_the_notice_button_extends_once_on_a_double_click() -> None:
    rt, _, cluster, control, _ = _setup()
    _submit(rt, "dbl")
    r = _start(rt, cluster, "dbl")
    control.extend(Extend(job="dbl", by_s=7200), OWNER, expect_limit=r.time_limit_s)
    control.extend(Extend(job="dbl", by_s=7200), OWNER, expect_limit=r.time_limit_s)
    assert _get(rt, "dbl").time_limit_s == 3600 + 7200


def test_time_limit_near_notice_once_with_a_button() -> None:
    rt, chat, cluster, _, clock = _setup()
    _submit(rt, "near")
    _start(rt, cluster, "near")
    wait(lambda: _get(rt, "near").card_ts, what="the card posted (the desk posts in its own thread)")
    keeper = Housekeeping(rt)
    assert keeper.deadline_notices() == []  # an hour left: not yet
    clock.now += 31 * 60
    assert keeper.deadline_notices() == [f"{NS}/near"]
    assert keeper.deadline_notices() == []
    assert any("reaches its time limit" in t for t in chat.texts("thread"))


# --- hold / release ---------------------------------------------------------------------------------------


def test_a_held_job_is_not_admitted_and_keeps_its_place() -> None:
    rt, _, cluster, control, _ = _setup()
    _submit(rt, "a")
    _start(rt, cluster, "a")  # the 8 GPUs are taken
    _submit(rt, "b")
    _submit(rt, "c")
    assert "Held `b`" in control.hold(Hold(jobs=("b",)), OWNER)
    assert [r.name for r in rt.store.queued()] == ["c"]
    rt.store.transition(NS, "a", ["running"], "succeeded", finished_at=rt.clock())
    cluster.created.pop(f"{NS}/a")
    _dispatch(rt)
    assert _get(rt, "b").state == "queued" and _get(rt, "c").state == "admitted"
    control.release(Release(jobs=("b",)), OWNER)
    rt.store.transition(NS, "c", ["admitted"], "stopped", finished_at=rt.clock())
    _submit(rt, "d")
    assert [r.name for r in rt.store.queued()] == ["b", "d"], "b is back ahead of d: its old place"


def test_hold_refuses_others_but_admins_hold_anyones() -> None:
    rt, _, _, control, _ = _setup()
    _submit(rt, "x")
    with pytest.raises(ForbiddenError):
        control.hold(Hold(jobs=("x",)), OTHER)
    control.hold(Hold(jobs=("x",)), ADMIN)
    with pytest.raises(ForbiddenError) as err:  # the admin's hold is the admin's to lift
        control.release(Release(jobs=("x",)), OWNER)
    assert "only an admin" in err.value.why
    control.release(Release(jobs=("x",)), ADMIN)
    assert not _get(rt, "x").parked


def test_hold_a_running_job_says_requeue() -> None:
    rt, _, cluster, control, _ = _setup()
    _submit(rt, "r")
    _start(rt, cluster, "r")
    with pytest.raises(PolicyError) as err:
        control.hold(Hold(jobs=("r",)), OWNER)
    assert "/gpu requeue r" in err.value.why


# --- requeue ----------------------------------------------------------------------------------------------


def test_requeue_stops_with_grace_and_goes_back_at_its_old_place() -> None:
    rt, _, cluster, control, _ = _setup()
    _submit(rt, "first")
    _start(rt, cluster, "first")
    _submit(rt, "later")
    said = control.requeue(Requeue(jobs=("first",)), OWNER)
    assert "Requeued `first`" in said and f"{NS}/first" in cluster.deleted
    r = _get(rt, "first")
    assert r.state == "queued" and r.started_at is None
    assert [q.name for q in rt.store.queued()] == ["first", "later"]


def test_requeue_a_queued_job_is_refused_with_a_fix() -> None:
    rt, _, _, control, _ = _setup()
    _submit(rt, "w")
    with pytest.raises(PolicyError) as err:
        control.requeue(Requeue(jobs=("w",)), OWNER)
    assert command_for(err.value.fix) == "/gpu status w"


# --- dependencies ------------------------------------------------------------------------------------------


def test_after_waits_then_is_let_in_when_the_dependency_succeeds() -> None:
    rt, _, _cluster, _, _ = _setup()
    _submit(rt, "pre", gpus=1)
    dep = _submit(rt, "post", gpus=1, after=(After("pre"),))
    assert dep.parked and dep.reason == "waiting for `pre` to succeed"
    _dispatch(rt)
    assert _get(rt, "pre").state == "admitted" and _get(rt, "post").state == "queued"
    keeper = Housekeeping(rt)
    keeper.run_pass()
    assert _get(rt, "post").parked
    rt.store.transition(NS, "pre", ["admitted"], "succeeded", finished_at=rt.clock(), started_at=rt.clock())
    keeper.run_pass()
    assert not _get(rt, "post").parked
    _dispatch(rt)
    assert _get(rt, "post").state == "admitted"


def test_after_a_failed_dependency_cancels_and_tells_the_owner() -> None:
    rt, chat, _, _, _ = _setup()
    _submit(rt, "pre", gpus=1)
    _submit(rt, "post", gpus=1, after=(After("pre"),))
    rt.store.transition(NS, "pre", ["queued"], "failed", finished_at=rt.clock())
    Housekeeping(rt).run_pass()
    r = _get(rt, "post")
    assert r.state == "stopped" and "will never succeed" in (r.reason or "")
    assert any("was cancelled before it started" in t for t in chat.texts("dm"))


def test_after_notok_runs_when_the_dependency_fails() -> None:
    rt, _, _, _, _ = _setup()
    _submit(rt, "pre", gpus=1)
    _submit(rt, "cleanup", gpus=1, after=(After("pre", "notok"),))
    rt.store.transition(NS, "pre", ["queued"], "failed", finished_at=rt.clock())
    Housekeeping(rt).run_pass()
    assert not _get(rt, "cleanup").parked and _get(rt, "cleanup").state == "queued"


@pytest.mark.parametrize(("after", "why"), [
    ((After("nope"),), "no job `nope`"),
    ((After("self"),), "cannot wait for itself"),
])  # fmt: skip
def test_after_refusals_give_a_launch_that_passes(after: tuple[After, ...], why: str) -> None:
    rt, _, _, _, _ = _setup()
    launches = LaunchService(rt)
    a = Launch(name="self", image=IMAGE, gpus=1, gpu_type="h100", time_limit_s=3600, after=after)
    with pytest.raises(Refusal) as err:
        launches.preview(a, OWNER, "CRESEARCH1", "tok")
    assert isinstance(err.value, NotFoundError | ValidationError) and why in err.value.why
    fixed = parse_command(command_for(err.value.fix) or "")
    assert isinstance(fixed, Launch) and fixed.after == ()
    launches.preview(dataclasses.replace(fixed, time_limit_s=3600), OWNER, "CRESEARCH1", "tok2")


def test_after_a_job_that_already_failed_is_refused() -> None:
    rt, _, _, _, _ = _setup()
    _submit(rt, "gone", gpus=1)
    rt.store.transition(NS, "gone", ["queued"], "failed", finished_at=rt.clock())
    with pytest.raises(ValidationError) as err:
        _submit(rt, "next", gpus=1, after=(After("gone"),))
    assert "can never succeed" in err.value.why


# --- retention ----------------------------------------------------------------------------------------------


def test_finished_jobs_past_retention_are_forgotten_and_the_rest_kept() -> None:
    rt, _, _, _, clock = _setup()
    for name in ("old", "recent", "waiting"):
        _submit(rt, name, gpus=1)
    rt.store.transition(NS, "old", ["queued"], "succeeded", finished_at=clock.now - POLICY.retention - 60)
    rt.store.transition(NS, "recent", ["queued"], "failed", finished_at=clock.now - 60)
    launches = LaunchService(rt)  # the name used again: the old record is archived, then forgotten
    launches.preview(Launch(name="old", image=IMAGE, gpus=1, gpu_type="h100", time_limit_s=3600), OWNER,
                     "CRESEARCH1", "tok-old-2")
    assert launches.confirm("tok-old-2", OWNER).created
    assert Housekeeping(rt).expire() == 1
    assert [r.name for r in rt.store.find("old")] == ["old"] and _get(rt, "old").state == "queued"
    assert _get(rt, "recent").state == "failed" and _get(rt, "waiting").state == "queued"
    assert rt.store.get_by_idempotency_key("tok-old") is None and rt.store.get_by_idempotency_key("tok-old-2")
    assert Housekeeping(rt).expire() == 0


def test_a_hold_wins_over_an_admission_already_decided() -> None:
    rt, _, _, control, _ = _setup()
    _submit(rt, "race", gpus=1)
    rows = rt.store.queued_with_seq()  # the dispatcher read the queue...
    control.hold(Hold(jobs=("race",)), OWNER)  # ...the hold lands...
    assert [r.name for r, _ in rows] == ["race"]
    assert rt.store.transition(NS, "race", ["queued"], "admitted", admitted_at=rt.clock()) is None  # ...no admit
    assert _get(rt, "race").state == "queued" and _get(rt, "race").parked


def test_extending_a_running_job_moves_the_eta_of_the_job_behind_at_once() -> None:
    rt, _, cluster, control, clock = _setup()
    _submit(rt, "front")
    _start(rt, cluster, "front")  # all 8 GPUs, one hour
    _submit(rt, "behind")
    dispatcher = Dispatcher(rt)
    dispatcher.run_pass()
    before = _get(rt, "behind").eta
    assert before is not None and abs(before - (clock.now + 3600)) < 120
    control.extend(Extend(job="front", by_s=4 * 3600), OWNER)
    dispatcher.run_pass()  # the next pass (the extend woke the dispatcher), not a minute later
    after = _get(rt, "behind").eta
    assert after is not None and abs(after - (clock.now + 5 * 3600)) < 120


def test_the_verbs_are_in_the_audit_trail() -> None:
    rt, _, cluster, control, _ = _setup()
    _submit(rt, "aud")
    control.extend(Extend(job="aud", by_s=3600), OWNER)
    control.hold(Hold(jobs=("aud",)), OWNER)
    control.release(Release(jobs=("aud",)), OWNER)
    _start(rt, cluster, "aud")
    control.requeue(Requeue(jobs=("aud",)), OWNER)
    entries = [e.action for e in rt.audit.page(since=0.0, limit=50)[0]][::-1]  # newest first: oldest first here
    assert [a for a in entries if a in ("extend", "hold", "release", "requeue")] == \
        ["extend", "hold", "release", "requeue"]
