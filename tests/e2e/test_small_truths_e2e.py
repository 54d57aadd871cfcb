"""Small truths through Slack: 50 log lines come inline (no file), starting at a line boundary; the
card's [Stop] refuses someone else before asking anything; stopping a finished job says when it
ended; a CUDA OOM on an L40S quotes the L40S's memory."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from bot.render import replies as rendering
from tests.support.botstack import BotStack, bot_stack, button_value, text_of
from tests.support.waiting import wait
from tests.support.watching import IMAGE, OWNER, launch, wait_card, wait_reply


@pytest.fixture
def stack(redis_url: str) -> Iterator[BotStack]:
    with bot_stack(redis_url, speed=600.0) as s:
        yield s


def _pod(stack: BotStack, name: str) -> str:
    return str(stack.bot.runtime.cluster.job_pods("ml-research", name)[0]["metadata"]["name"])


def test_fifty_log_lines_are_not_long_and_start_at_a_line_boundary(stack: BotStack) -> None:
    name = launch(stack, f"launch chatty --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=3h")
    wait_card(stack, name, "Running")
    cluster = stack.bot.runtime.cluster
    wait(lambda: len(cluster.pod_log("ml-research", _pod(stack, name), 50).splitlines()) >= 50, timeout=30,
         what="50 log lines")
    answer = stack.ask(f"logs {name} --tail 50", OWNER)
    expected = cluster.pod_log("ml-research", _pod(stack, name), 500).splitlines()  # read after: it grows
    assert "file" not in answer["text"] and "long" not in answer["text"]
    assert not stack.slack.calls("files.completeUploadExternal")
    bodies = [b["text"]["text"] for b in answer["blocks"] if b["text"]["text"].startswith("```")]
    lines = "\n".join(body.strip("`") for body in bodies).splitlines()
    assert len(lines) == 50
    assert all(line in expected for line in lines), "whole lines only, never a cut one"


def test_stop_button_refuses_someone_else_before_asking(stack: BotStack) -> None:
    name = launch(stack, f"launch mine --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=3h")
    card = wait_card(stack, name, "Running")
    assert "Stop this job?" not in card, "no client-side dialog that asks before the bot has checked"
    for someone_else in ("URES0002", "UVIS0001"):  # a teammate, another team's member
        status, rid = stack.click(rendering.JOB_STOP, f"ml-research/{name}", someone_else)
        assert status == 200, "the click is acknowledged (else Slack shows an error on the button)"
        refused = stack.answer(rid)
        assert "belongs to <@URES0001>" in text_of(refused)
        assert rendering.STOP_CONFIRM not in text_of(refused)
    _, rid = stack.click(rendering.JOB_STOP, f"ml-research/{name}", OWNER)
    asked = stack.answer(rid)
    assert f"`{name}`" in text_of(asked)
    _, rid = stack.click(rendering.STOP_CONFIRM, button_value(asked, rendering.STOP_CONFIRM), OWNER)
    assert f"Stopped `{name}`" in text_of(stack.answer(rid))
    wait_card(stack, name, "Stopped")


def test_stopping_a_finished_job_says_when_it_ended(stack: BotStack) -> None:
    name = launch(stack, f"launch brief --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=2m")
    wait_card(stack, name, "Succeeded")
    record = stack.bot.runtime.store.get("ml-research", name)
    assert record is not None and record.finished_at
    said = text_of(stack.ask(f"stop {name}", OWNER))
    assert re.search(rf"`{name}` already succeeded at \d\d:\d\d UTC; nothing to stop", said), said
    assert "No job matches" not in said


def test_cuda_oom_on_an_l40s_quotes_the_l40s_memory(stack: BotStack) -> None:
    name = launch(stack, f"launch small --image {IMAGE} --gpus 4 --gpu-type l40s --time 2h "
                         "--env SIM_FAIL=cuda-oom --env SIM_DURATION=2m")
    card = wait_card(stack, name, "Failed", "CUDA ran out of GPU memory")
    assert "48 GB" in card and "80 GB" not in card
    reply = wait_reply(stack, name, "OutOfMemoryError")
    assert "44.40 GiB" in reply and "79.10" not in reply
    assert f"`{name}`" in json.dumps(reply)


def test_memory_per_node_is_refused_with_a_fix_beyond_the_node_and_reaches_the_pods(stack: BotStack) -> None:
    base = f"launch roomy --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=3h"
    refused = text_of(stack.ask(f"{base} --memory 2Ti", OWNER))
    assert "per node" in refused and "1056Gi" in refused and "Try:" in refused
    fix = re.search(r"Try: `/gpu (launch [^`]+)`", refused)
    assert fix is not None and "--memory 1056Gi" in fix.group(1)
    assert rendering.LAUNCH_CONFIRM in text_of(stack.ask(fix.group(1), OWNER)), "the fix itself passes"
    name = launch(stack, f"{base} --memory 768Gi --cpus 48")
    wait_card(stack, name, "Running")
    pod = stack.bot.runtime.cluster.job_pods("ml-research", name)[0]
    limits = pod["spec"]["containers"][0]["resources"]["limits"]
    assert limits["memory"] == "768Gi" and limits["cpu"] == "48"
