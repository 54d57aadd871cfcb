"""extend, hold / release, requeue, --after, history and report through Slack: the bot in HTTP mode on
real Redis, the simulated cluster over HTTP, the fake Slack Web API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.render import cards as cards_render
from bot.render import job_control as control_render
from tests.support.botstack import BotStack, bot_stack, text_of
from tests.support.waiting import wait
from tests.support.watching import IMAGE, OWNER, launch, replies

NS = "ml-research"


@pytest.fixture
def stack(redis_url: str) -> Iterator[BotStack]:
    with bot_stack(redis_url, speed=60.0) as s:
        yield s


def _sim_job(stack: BotStack, name: str) -> dict[str, Any]:
    job = stack.sim.cluster.store.get("jobs", NS, name)
    assert job is not None, f"no Job {name} in the cluster"
    return job


def _card(stack: BotStack, name: str, *needles: str, timeout: float = 30.0) -> str:
    """The job's card (the message its record points at: a known race may post a stale twin) once it
    shows every needle."""
    def ok() -> str | None:
        r = stack.bot.runtime.store.get(NS, name)
        m = stack.slack.messages.get((r.channel, r.card_ts)) if r and r.channel and r.card_ts else None
        text = json.dumps(m.get("blocks"), ensure_ascii=False) if m else ""
        return text if text and all(n in text for n in needles) else None
    found: str = wait(ok, timeout, f"card of {name} with {needles}")
    return found


def _state(stack: BotStack, name: str) -> str:
    r = stack.bot.runtime.store.get(NS, name)
    return r.state if r else "missing"


def test_extend_a_running_job_outlives_its_old_deadline(stack: BotStack) -> None:
    # 10 min limit (10 s at speed 60), 15 min of work: without the extension it ends DeadlineExceeded
    name = launch(stack, f"launch ext --image {IMAGE} --gpus 8 --gpu-type h100 --time 10m --env SIM_DURATION=15m")
    _card(stack, name, "Running")
    said = text_of(stack.ask(f"extend {name} 1h", OWNER))
    assert f"Extended `{name}` by 1 h" in said, said
    assert _sim_job(stack, name)["spec"]["activeDeadlineSeconds"] == 70 * 60
    _card(stack, name, "Succeeded", timeout=40)


def test_extend_refusals_say_why_and_what_works(stack: BotStack) -> None:
    name = launch(stack, f"launch cap --image {IMAGE} --gpus 8 --gpu-type h100 --time 6d --env SIM_DURATION=3h")
    said = text_of(stack.ask(f"extend {name} 2d", OWNER))
    assert "longest time limit" in said and f"/gpu extend {name} 1d" in said, said
    other = text_of(stack.ask(f"extend {name} 1h", "URES0002"))
    assert "belongs to <@URES0001>" in other and "/gpu list" in other


def test_time_limit_near_notice_and_its_button(redis_url: str) -> None:
    with bot_stack(redis_url, speed=1.0) as stack:  # the bot's clock and the cluster's agree
        name = launch(stack, f"launch near --image {IMAGE} --gpus 8 --gpu-type h100 --time 29m "
                             "--env SIM_DURATION=2h")
        _card(stack, name, "Running")
        notice = wait(lambda: next((r for r in replies(stack, name) if "reaches its time limit" in r), None),
                      timeout=20, what="the time limit near notice")
        value = next(el["value"] for b in json.loads(notice) if b.get("type") == "actions"
                     for el in b["elements"] if el["action_id"] == control_render.JOB_EXTEND)
        for _ in range(2):  # a double click extends once
            _, rid = stack.click(control_render.JOB_EXTEND, value, OWNER)
            assert "Extended" in text_of(stack.answer(rid))
        assert _sim_job(stack, name)["spec"]["activeDeadlineSeconds"] == 29 * 60 + 2 * 3600
        stack.ask(f"stop {name}", OWNER)


def test_hold_keeps_a_queued_job_out_until_released(stack: BotStack) -> None:
    big = launch(stack, f"launch big --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 --env SIM_DURATION=3h")
    _card(stack, big, "Running")
    first = launch(stack, f"launch first --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=3h")
    second = launch(stack, f"launch second --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=3h")
    said = text_of(stack.ask(f"hold {first}", OWNER))
    assert f"Held `{first}`" in said, said
    _card(stack, first, "held by")
    assert "requeue" in text_of(stack.ask(f"hold {big}", OWNER)), "a running job cannot be held"
    stack.ask(f"stop {big}", OWNER)
    _card(stack, second, "Running", timeout=30)
    assert _state(stack, first) == "queued", "held: not admitted although 8 GPUs are free"
    assert "Released" in text_of(stack.ask(f"release {first}", OWNER))
    _card(stack, first, "Running", timeout=30)


def test_requeue_puts_a_running_job_back_and_it_runs_again(stack: BotStack) -> None:
    name = launch(stack, f"launch rq --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=3h")
    _card(stack, name, "Running")
    uid = _sim_job(stack, name)["metadata"]["uid"]
    said = text_of(stack.ask(f"requeue {name}", OWNER))
    assert f"Requeued `{name}`" in said, said
    wait(lambda: (j := stack.sim.cluster.store.get("jobs", NS, name)) is not None
         and j["metadata"]["uid"] != uid and _state(stack, name) == "running", timeout=30,
         what="the job created afresh and running")
    states = [s for s, _ in stack.bot.runtime.store.history(NS, name)]
    assert states.index("queued", states.index("running")) < len(states) - 1, states  # back, then on again


def test_after_waits_for_success_then_starts(stack: BotStack) -> None:
    # long enough that the dependent's waiting card is in Slack before `pre` ends (the card shows the newest state)
    pre = launch(stack, f"launch pre --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=10m")
    post = launch(stack, f"launch post --image {IMAGE} --gpus 1 --gpu-type l40s --after {pre} "
                         "--env SIM_DURATION=1m")
    _card(stack, post, f"waiting for `{pre}` to succeed")
    assert _state(stack, post) == "queued"
    _card(stack, pre, "Succeeded", timeout=30)
    _card(stack, post, "Succeeded", timeout=30)
    pre_r, post_r = stack.bot.runtime.store.get(NS, pre), stack.bot.runtime.store.get(NS, post)
    assert pre_r and post_r and post_r.started_at and pre_r.finished_at
    assert post_r.started_at >= pre_r.finished_at, "never before its dependency ended"


def test_after_a_failed_dependency_cancels_and_dms_the_owner(stack: BotStack) -> None:
    pre = launch(stack, f"launch bad --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_FAIL=exit:1 "
                        "--env SIM_DURATION=1m")
    post = launch(stack, f"launch dep --image {IMAGE} --gpus 1 --gpu-type l40s --after {pre}")
    _card(stack, post, "Stopped", "will never succeed", timeout=30)
    stack.slack.wait_for(lambda c: c.method == "chat.postMessage"
                         and "was cancelled before it started" in json.dumps(c.args), timeout=10)
    said = text_of(stack.ask(f"launch again --image {IMAGE} --gpus 1 --gpu-type l40s --after {pre}", OWNER))
    assert "can never succeed" in said and "Try" in said


def test_history_and_report_with_csv(stack: BotStack) -> None:
    a = launch(stack, f"launch ha --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=1m")
    _card(stack, a, "Succeeded", timeout=30)
    hist = text_of(stack.ask("history", OWNER))
    assert a in hist and "succeeded" in hist and "GPU-h" in hist, hist
    report = text_of(stack.ask("report --by user", OWNER))
    assert "URES0001" in report and "GPU-hours" in report, report
    stack.slack.wait_for("files.completeUploadExternal", timeout=10)


def test_card_hold_and_release_buttons(stack: BotStack) -> None:
    busy = launch(stack, f"launch busy --image {IMAGE} --gpus 4 --gpu-type l40s --env SIM_DURATION=3h")
    _card(stack, busy, "Running")
    waiting = launch(stack, f"launch waiting --image {IMAGE} --gpus 4 --gpu-type l40s --env SIM_DURATION=3h")
    card = _card(stack, waiting, cards_render.JOB_HOLD)
    assert cards_render.JOB_RELEASE not in card
    _, rid = stack.click(cards_render.JOB_HOLD, f"{NS}/{waiting}", "URES0002")
    assert "belongs to <@URES0001>" in text_of(stack.answer(rid))
    _, rid = stack.click(cards_render.JOB_HOLD, f"{NS}/{waiting}", OWNER)
    assert f"Held `{waiting}`" in text_of(stack.answer(rid))
    _card(stack, waiting, "Queued, held", cards_render.JOB_RELEASE)
    _, rid = stack.click(cards_render.JOB_RELEASE, f"{NS}/{waiting}", OWNER)
    assert "Released" in text_of(stack.answer(rid))
    _card(stack, waiting, cards_render.JOB_HOLD)
