"""`/gpu logs` (single and multi-node, long output as a file), the [Logs] button, the App Home tab,
and the owner's DM-on-finish preference."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bot.render import replies as rendering
from bot.services.notices import dm_on_finish, set_dm_on_finish
from bot.sim.slack import requests as sr
from tests.support.botstack import SECRET, BotStack, bot_stack
from tests.support.watching import IMAGE, OWNER, launch, wait, wait_card


@pytest.fixture
def stack(redis_url: str) -> Iterator[BotStack]:
    with bot_stack(redis_url, speed=600.0) as s:
        yield s


def test_logs_single_node_as_code_block(stack: BotStack) -> None:
    name = launch(stack, f"launch one --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=3h")
    wait_card(stack, name, "Running")
    wait(lambda: "step" in stack.bot.runtime.cluster.pod_log("ml-research", _pods(stack, name)[0], 5),
         what="training steps in the log")
    answer = stack.ask(f"logs {name} --tail 5", OWNER)
    text = answer["text"] + json.dumps(answer.get("blocks"))
    assert "```" in text and "Last 5 lines of one" in text and "step" in text
    assert "rank 1" not in text


def test_logs_multi_node_labelled_and_button(stack: BotStack) -> None:
    name = launch(stack, f"launch two --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 --env SIM_DURATION=3h")
    wait_card(stack, name, "Running")
    blocks = json.dumps(stack.ask(f"logs {name} --tail 3", OWNER).get("blocks"))
    assert "rank 0" in blocks and "rank 1" in blocks
    status, rid = stack.click(rendering.JOB_LOGS, f"ml-research/{name}", OWNER)
    assert status == 200
    clicked = json.dumps(stack.answer(rid))
    assert "rank 0" in clicked and "Last 50 lines" in clicked


def test_long_logs_go_as_a_file(stack: BotStack) -> None:
    name = launch(stack, f"launch long --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 --env SIM_DURATION=3h")
    wait_card(stack, name, "Running")
    wait(lambda: len(stack.bot.runtime.cluster.pod_log("ml-research", _pods(stack, name)[0], 500)) > 6000,
         what="a long log")
    answer = stack.ask(f"logs {name} --tail 500", OWNER)
    assert "whole tail is in a file" in answer["text"]
    complete = stack.slack.wait_for("files.completeUploadExternal")
    assert complete.status == 200 and len(stack.slack.uploads) == 1
    content = next(iter(stack.slack.uploads.values())).decode()
    assert "rank 0" in content and "rank 1" in content


def _pods(stack: BotStack, name: str) -> list[str]:
    return [p["metadata"]["name"] for p in stack.bot.runtime.cluster.job_pods("ml-research", name)]


def test_home_tab_published_on_open_and_refreshed_on_change(stack: BotStack) -> None:
    body = sr.event_body({"type": "app_home_opened", "user": OWNER, "channel": "DHOME", "tab": "home",
                          "event_ts": "1.0"})
    status, _, _ = sr.send(stack.events_url, body, SECRET)
    assert status == 200
    first = stack.slack.wait_for(lambda c: c.method == "views.publish" and c.args.get("user_id") == OWNER)
    shown = json.dumps(first.args["view"])
    assert "no jobs yet" in shown and "Team research" in shown and "free of 16" in shown
    name = launch(stack, f"launch homejob --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=3h")
    wait_card(stack, name, "Running")
    view = stack.slack.wait_for(lambda c: c.method == "views.publish" and "homejob" in json.dumps(c.args)
                                and "running" in json.dumps(c.args), timeout=10)
    assert "8 of 16 GPUs in use" in json.dumps(view.args["view"])


def test_dm_on_finish_preference(stack: BotStack) -> None:
    rt = stack.bot.runtime
    assert dm_on_finish(rt, OWNER) is False, "off by default"
    name = launch(stack, f"launch quiet --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=2m")
    wait_card(stack, name, "Succeeded")
    assert "has finished" in set_dm_on_finish(rt, OWNER, True) or dm_on_finish(rt, OWNER)
    assert dm_on_finish(rt, OWNER) is True
    name2 = launch(stack, f"launch told --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=2m")
    dm = stack.slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args.get("channel") == OWNER,
                              timeout=20)
    assert f"`{name2}` has finished" in dm.args["text"] and "succeeded" in dm.args["text"]
    dms = [c for c in stack.slack.calls("chat.postMessage") if c.args.get("channel") == OWNER]
    assert len(dms) == 1, "no DM for the job finished before the preference was set"
    set_dm_on_finish(rt, OWNER, False)
    assert dm_on_finish(rt, OWNER) is False
