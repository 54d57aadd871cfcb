"""The watcher end to end: real redis, the simulated cluster over HTTP, the fake Slack Web API.

Every transition and failure reason shows on the one card and in its thread; dropped watches, 410
Gone and an API server restart lose no transition; the dispatcher is woken when a job finishes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.domain.cluster.manifests import render_job
from bot.domain.jobs import JobRecord
from bot.services.cards import publish_card
from bot.sim.apiserver import SimServer
from tests.support.botstack import BotStack, bot_stack
from tests.support.watching import IMAGE, launch, replies, states, wait, wait_card, wait_reply

FAST = 600.0  # one real second = ten simulated minutes


@pytest.fixture
def stack(redis_url: str) -> Iterator[BotStack]:
    with bot_stack(redis_url, speed=FAST) as s:
        yield s


def test_success_card_and_thread_and_history(stack: BotStack) -> None:
    # long enough (3 s real) for the "started" reply to get its turn in the channel before the final one
    name = launch(stack, f"launch ok-run --image {IMAGE} --gpus 8 --gpu-type h100 --time 2h --env SIM_DURATION=30m")
    card = wait_card(stack, name, "Succeeded", "GPU-hours", "h100-")
    assert "8 × h100" in card and "Elapsed / limit" in card and "/ 2h" in card
    wait_reply(stack, name, "Started on")
    done = wait_reply(stack, name, "Succeeded after", "GPU-hours")
    assert "0.7 GPU-hours" in done or "GPU-hours" in done
    assert f"`{name}`: Succeeded after" in done, "a thread reply names its job"
    assert any(f"`{name}`: Started on" in r for r in replies(stack, name))
    history = states(stack, name)
    assert history[0] == "queued" and history[-1] == "succeeded"
    assert "admitted" in history and "running" in history
    times = [t for _s, t in stack.bot.runtime.store.history("ml-research", name)]
    assert times == sorted(times)
    started = [r for r in replies(stack, name) if "Started on" in r]
    assert len(started) == 1, "each thread reply once"


@pytest.mark.parametrize(
    ("fail", "card_words", "reply_words"),
    [
        ("OOMKilled", ["Failed", "ran out of memory", "OOMKilled"], ["memory limit", "fewer data-loader"]),
        ("cuda-oom", ["Failed", "CUDA ran out of GPU memory"], ["batch size", "OutOfMemoryError"]),
        ("nccl-timeout", ["Failed", "NCCL watchdog"], ["NCCL watchdog", "Watchdog caught collective"]),
        ("exit:3", ["Failed", "exit code 3"], ["exit code 3", "process exited with code 3"]),
        ("ImagePullBackOff", ["Failed", "could not pull", IMAGE], ["registry", "pull secret"]),
    ],
)
def test_failure_reasons(stack: BotStack, fail: str, card_words: list[str], reply_words: list[str]) -> None:
    name = launch(stack, f"launch f --image {IMAGE} --gpus 8 --gpu-type h100 --time 2h "
                         f"--env SIM_FAIL={fail} --env SIM_DURATION=2m")
    wait_card(stack, name, *card_words)
    wait_reply(stack, name, *reply_words)
    assert states(stack, name)[-1] == "failed"
    if fail == "ImagePullBackOff":  # ended by the bot so it holds no GPUs
        wait(lambda: sum(stack.sim.cluster.free_gpus().values()) == 20, what="GPUs freed")


def test_deadline_says_how_to_ask_for_more_time(stack: BotStack) -> None:
    name = launch(stack, f"launch slow --image {IMAGE} --gpus 8 --gpu-type h100 --time 10m --env SIM_DURATION=3h")
    wait_card(stack, name, "Timedout", "time limit of 10m")
    reply = wait_reply(stack, name, "Timed out", "/gpu launch slow-2")
    assert "--time 20m" in reply and "--gpu-type h100" in reply
    assert states(stack, name)[-1] == "timedout"


def test_node_lost(stack: BotStack) -> None:
    name = launch(stack, f"launch big --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 --time 2h "
                         "--env SIM_DURATION=3h")
    wait_card(stack, name, "Running", "h100-0", "h100-1")
    stack.sim.cluster.remove_node("h100-0")
    wait_card(stack, name, "Failed", "node running the job stopped answering")
    wait_reply(stack, name, "not your code", "launch again")


def test_unschedulable_pending_with_scheduler_reason(stack: BotStack) -> None:
    rt = stack.bot.runtime
    record = JobRecord(name="huge", namespace="ml-research", team="research", owner="URES0001", image=IMAGE,
                       gpus=16, gpu_type="h100", nodes=1, idempotency_key="k-huge", channel="CRESEARCH1")
    rt.store.submit(record)
    admitted = rt.store.transition("ml-research", "huge", ["queued"], "admitted", admitted_at=rt.clock())
    assert admitted is not None
    publish_card(rt, admitted)
    rt.cluster.create([render_job(admitted, rt.policy)], admitted.idempotency_key)  # as the dispatcher does
    wait_card(stack, "huge", "Pending", "Not scheduled yet", "16 free h100", "/gpu queue")
    wait_reply(stack, "huge", "Not scheduled yet", "Insufficient nvidia.com/gpu")
    assert states(stack, "huge")[-1] == "pending"


def test_dropped_watches_lose_nothing(stack: BotStack) -> None:
    name = launch(stack, f"launch drop --image {IMAGE} --gpus 8 --gpu-type h100 --time 2h --env SIM_DURATION=30m")
    # the bot's books say running (its card may skip that state when Slack's turn comes late)
    wait(lambda: (r := stack.bot.runtime.store.get("ml-research", name)) is not None and r.state == "running",
         what="the job running")
    for _ in range(3):
        stack.sim.cluster.store.close_watches()
    wait_card(stack, name, "Succeeded")
    wait_reply(stack, name, "Succeeded after")
    assert sum(w.resource_version is not None for w in stack.bot.watcher.watches) == 3  # type: ignore[union-attr]


def annotate(i: int) -> Callable[[dict[str, Any]], None]:
    def change(obj: dict[str, Any]) -> None:
        obj["metadata"].setdefault("annotations", {})["n"] = str(i)
    return change


def test_410_gone_relists_and_loses_nothing(redis_url: str) -> None:
    with bot_stack(redis_url, speed=FAST, history_limit=20) as stack:
        name = launch(stack, f"launch gone --image {IMAGE} --gpus 8 --gpu-type h100 --time 2h "
                             "--env SIM_DURATION=20m")
        wait_card(stack, name, "Running")
        watcher = stack.bot.watcher
        assert watcher is not None
        before = [w.relists for w in watcher.watches]
        store = stack.sim.cluster.store
        with store.lock:  # our watches cannot come back before the history has moved on
            store.close_watches()
            pod = next(e.obj for e in store.list("pods", "ml-research")[1])
            for i in range(30):
                store.mutate("pods", "ml-research", pod["metadata"]["name"], annotate(i))
                store.mutate("jobs", "ml-research", name, annotate(i))
        wait(lambda: all(w.relists > b for w, b in zip(watcher.watches[:2], before, strict=False)),
             what="jobs and pods relisted after 410")
        wait_card(stack, name, "Succeeded", timeout=30)
        wait_reply(stack, name, "Succeeded after")


def test_api_server_restart_loses_nothing(redis_url: str) -> None:
    with bot_stack(redis_url, speed=FAST) as stack:
        name = launch(stack, f"launch restart --image {IMAGE} --gpus 8 --gpu-type h100 --time 2h "
                             "--env SIM_DURATION=30m")
        # the bot's books say running (its card may skip that state when Slack's turn comes late)
        wait(lambda: (r := stack.bot.runtime.store.get("ml-research", name)) is not None and r.state == "running",
             what="the job running")
        cluster, port = stack.sim.cluster, stack.sim.port
        stack.sim.stop()
        cluster.start()  # the cluster goes on while its API server is down: the job finishes unseen
        def complete() -> bool:
            job = cluster.store.get("jobs", "ml-research", name) or {}
            return any(c.get("type") == "Complete" for c in job.get("status", {}).get("conditions", []))

        wait(complete, what="the job completing in the cluster")
        with SimServer(cluster, port=port):
            wait_card(stack, name, "Succeeded", timeout=30)
            wait_reply(stack, name, "Succeeded after")
            assert states(stack, name)[-1] == "succeeded"


def test_finish_wakes_dispatcher_queued_job_starts(redis_url: str) -> None:
    # a slow safety net: only the watcher's wake can start the second job quickly
    with bot_stack(redis_url, speed=FAST, safety_interval_s=30.0) as stack:
        first = launch(stack, f"launch a --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 --env SIM_DURATION=5m")
        second = launch(stack, f"launch b --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 --env SIM_DURATION=5m")
        wait_card(stack, first, "Succeeded")
        wait_card(stack, second, "Succeeded", timeout=20)


def test_stop_shows_on_card_and_thread(stack: BotStack) -> None:
    name = launch(stack, f"launch halt --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=3h")
    wait_card(stack, name, "Running")
    stack.ask(f"stop {name}", "URES0001")
    wait_card(stack, name, "Stopped")
    wait_reply(stack, name, "Stopped by <@URES0001>")
    assert states(stack, name)[-1] == "stopped"
