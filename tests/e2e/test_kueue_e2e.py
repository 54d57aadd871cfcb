"""``scheduler: kueue`` end to end: ``chatops run``'s bot against ``chatops sim --kueue`` (real redis-server,
the fake Slack Web API). Kueue admits; the bot submits suspended, queue-labelled Jobs, follows the Workloads
and tells people what Kueue decided, in their words, on the card and in ``/gpu queue``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from bot.sim.cluster import NodeSpec
from tests.support.botstack import H100, BotStack, bot_stack, text_of
from tests.support.waiting import wait
from tests.support.watching import launch, states, wait_card, wait_reply

OWNER, VISION = "URES0001", "UVIS0001"
IMAGE = "ghcr.io/acme/train:1.4"


@pytest.fixture
def stack(redis_url: str) -> Iterator[BotStack]:
    # 24 H100s: the research ClusterQueue's 16 plus vision's 8, the cohort's whole pool
    nodes = [NodeSpec(f"h100-{i}", 8, H100) for i in range(3)]
    with bot_stack(redis_url, nodes=nodes, speed=60, kueue=True) as s:
        yield s


def _job(stack: BotStack, name: str, ns: str = "ml-research") -> dict[str, Any]:
    resp = client.BatchV1Api(stack.sim.api_client()).read_namespaced_job(name, ns, _preload_content=False)
    out: dict[str, Any] = json.loads(resp.data)
    return out


def test_launch_waits_in_kueue_then_runs_and_finishes_and_preemption_reaches_the_card(stack: BotStack) -> None:
    big = launch(stack, f"launch big --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 --time 2h "
                 "--env SIM_DURATION=2h")
    wait_card(stack, big, "Running")
    job = _job(stack, big)
    labels = job["metadata"]["labels"]
    assert labels["kueue.x-k8s.io/queue-name"] == "gpu-chatops"
    assert labels["kueue.x-k8s.io/priority-class"] == "normal"
    assert labels["kueue.x-k8s.io/max-exec-time-seconds"] == "7200"
    assert labels["chatops.io/owner"] == OWNER and labels["app.kubernetes.io/managed-by"] == "gpu-chatops"
    # borrowed from vision's idle quota (the cohort), so vision can reclaim it
    borrower = launch(stack, f"launch borrower --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=2h")
    wait_card(stack, borrower, "Running")
    waiting = launch(stack, f"launch waiting --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=5m")
    wait_card(stack, waiting, "Queued", "8 more h100 GPUs needed", "#1 in Kueue", "no estimate")
    assert _job(stack, waiting)["spec"]["suspend"] is True  # the bot does not start it; Kueue will
    queue = text_of(stack.ask("queue", OWNER))
    assert "waiting" in queue and "8 more h100 GPUs needed" in queue and "#1 in Kueue" in queue
    # vision reclaims its nominal quota: Kueue preempts research's borrower, which goes back to the queue
    theirs = launch(stack, f"launch reclaim --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=2h",
                    VISION)
    wait_card(stack, theirs, "Running")
    wait_card(stack, borrower, "Queued", "team vision reclaimed the GPUs your team had borrowed, requeued")
    wait_reply(stack, borrower, "preempted")
    assert _job(stack, borrower)["spec"]["suspend"] is True  # suspended by Kueue, kept for its return
    # research's own quota frees up: Kueue admits the waiting job (first in its queue), which runs and ends
    assert f"Stopped `{big}`" in stack.ask(f"stop {big}", OWNER)["text"]
    wait_card(stack, waiting, "Succeeded", timeout=40)
    seen = states(stack, waiting)
    assert seen[:2] == ["queued", "admitted"] and "running" in seen and seen[-1] == "succeeded", seen
    # exactly once: one Job per launch, one Workload per Job
    jobs = client.BatchV1Api(stack.sim.api_client()).list_namespaced_job("ml-research").items
    assert sorted(j.metadata.name for j in jobs) == sorted({borrower, waiting})
    wls = client.CustomObjectsApi(stack.sim.api_client()).list_namespaced_custom_object(
        "kueue.x-k8s.io", "v1beta2", "ml-research", "workloads")["items"]
    assert sorted(w["metadata"]["ownerReferences"][0]["name"] for w in wls) == sorted({borrower, waiting})
    record = stack.bot.runtime.store.get("ml-research", big)
    assert record is not None and record.state == "stopped"


def test_kueue_time_limit_ends_the_job_and_stopping_a_queued_job_removes_it_from_kueue(stack: BotStack) -> None:
    capped = launch(stack, f"launch capped --image {IMAGE} --gpus 8 --gpu-type h100 --time 15m --env SIM_DURATION=1h")
    wait_card(stack, capped, "Running")
    # Kueue's maximum execution time (or the Job's own deadline, whichever comes first) ends it: 15 s here
    wait(lambda: (r := stack.bot.runtime.store.get("ml-research", capped)) is not None and r.state == "timedout",
         timeout=30, what="timed out")
    first = launch(stack, f"launch first --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 --env SIM_DURATION=1h")
    wait_card(stack, first, "Running")
    # 16 more: the cohort has 8 left (vision's idle quota), so Kueue keeps it waiting
    huge = launch(stack, f"launch huge --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 --env SIM_DURATION=1h")
    wait_card(stack, huge, "Queued", "8 more h100 GPUs needed")
    assert _job(stack, huge)["spec"]["suspend"] is True
    assert f"Stopped `{huge}`" in stack.ask(f"stop {huge}", OWNER)["text"]
    batch, custom = client.BatchV1Api(stack.sim.api_client()), client.CustomObjectsApi(stack.sim.api_client())
    wait(lambda: not [j for j in batch.list_namespaced_job("ml-research").items if j.metadata.name == huge],
         what="the queued job's Job deleted")
    wait(lambda: not [w for w in custom.list_namespaced_custom_object("kueue.x-k8s.io", "v1beta2", "ml-research",
                                                                      "workloads")["items"]
                      if w["metadata"]["ownerReferences"][0]["name"] == huge], what="its Workload gone")
    wait_card(stack, huge, "Stopped")
