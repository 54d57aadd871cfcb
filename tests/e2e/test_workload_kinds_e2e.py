"""job_kind jobset / trainjob end to end (issue 15): signed Slack requests → bot → Redis + ``chatops sim
--trainer`` over HTTP → cards. A 2×8 launch as a JobSet gets all its pods with the rendezvous env and goes
running → succeeded; a TrainJob's trainer progress reaches the card; stop deletes the workload and its
children; the RBAC the bot used is in deploy/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from bot.domain.policy.config import Policy, load_policy
from bot.render import replies as rendering
from bot.sim.cluster import NodeSpec
from tests.support.botstack import H100, POLICY_FILE, BotStack, bot_stack, button_value, text_of
from tests.support.waiting import wait
from tests.support.watching import card_text, launch

OWNER = "URES0001"
NS = "ml-research"
IMAGE = "ghcr.io/acme/train:1.4"
TEXT = f"launch llama --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 --time 2h --env SIM_DURATION=20m"
NODES = [NodeSpec(f"h100-{i}", 8, H100) for i in range(3)]


def policy_of(kind: str) -> Policy:
    base = load_policy(POLICY_FILE)
    return base.model_copy(update={"job_kind": kind,
                                   "jobset": base.jobset.model_copy(update={"max_restarts": 0})})


@pytest.fixture(params=["jobset", "trainjob"])
def stack(request: pytest.FixtureRequest, redis_url: str) -> Iterator[tuple[str, BotStack]]:
    with bot_stack(redis_url, nodes=NODES, policy=policy_of(request.param), extensions=("trainer",)) as s:
        yield request.param, s


def pods(stack: BotStack) -> list[dict[str, Any]]:
    api = client.CoreV1Api(stack.sim.api_client())
    resp = api.list_namespaced_pod(NS, label_selector="jobset.sigs.k8s.io/jobset-name=llama", _preload_content=False)
    items: list[dict[str, Any]] = json.loads(resp.data)["items"]
    return items


def env(pod: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pod["spec"]["containers"][0]["env"]}


def workload(stack: BotStack, kind: str) -> dict[str, Any] | None:
    api = client.CustomObjectsApi(stack.sim.api_client())
    group, version, plural = (("jobset.x-k8s.io", "v1alpha2", "jobsets") if kind == "jobset"
                              else ("trainer.kubeflow.org", "v1alpha1", "trainjobs"))
    try:
        out: dict[str, Any] = api.get_namespaced_custom_object(group, version, NS, plural, "llama")
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    return out


def test_2x8_launch_runs_with_rendezvous_and_finishes(stack: tuple[str, BotStack]) -> None:
    kind, s = stack
    preview = s.ask(TEXT, OWNER)
    assert ("JobSet" if kind == "jobset" else "TrainJob") in text_of(preview)
    assert workload(s, kind) is None, "a preview creates nothing"
    token = button_value(preview, rendering.LAUNCH_CONFIRM)
    _status, rid = s.click(rendering.LAUNCH_CONFIRM, token, OWNER)
    assert "Submitted `llama`" in s.answer(rid)["text"]
    s.click(rendering.LAUNCH_CONFIRM, token, OWNER)  # a double click creates nothing more
    running = wait(lambda: (p := pods(s)) and len(p) == 2 and all(x["status"]["phase"] == "Running" for x in p) and p,
                   timeout=20, what="both pods running")
    master = "llama-node-0-0.llama"
    hosts = sorted(f"{p['spec']['hostname']}.{p['spec']['subdomain']}" for p in running)
    assert hosts == [master, "llama-node-0-1.llama"]
    addr = "MASTER_ADDR" if kind == "jobset" else "PET_MASTER_ADDR"
    assert {env(p)[addr] for p in running} == {master}
    assert all(p["metadata"]["labels"]["chatops.io/owner"] == OWNER for p in running)
    wait(lambda: "Running" in card_text(s, "llama"), timeout=20, what="a running card")
    if kind == "trainjob":
        wait(lambda: "training " in card_text(s, "llama") and "% done" in card_text(s, "llama"),
             timeout=20, what="the trainer's progress on the card")
    wait(lambda: "Succeeded" in card_text(s, "llama"), timeout=40, what="a succeeded card")
    creates = [r for r in s.sim.request_log if r.verb == "create" and r.resource in ("jobsets", "trainjobs")]
    assert len(creates) == 1 + 1, creates  # one dry run (preview) and one create
    # the bot made no Job or Service of its own: those are the controllers'
    ours = {(r.resource, r.verb) for r in s.sim.request_log if r.verb == "create"}
    assert ours <= {("jobsets", "create"), ("trainjobs", "create")}, ours


def test_stop_deletes_the_workload_and_its_children(stack: tuple[str, BotStack]) -> None:
    kind, s = stack
    launch(s, TEXT, OWNER)
    wait(lambda: len(pods(s)) == 2, timeout=20, what="pods")
    assert "Stopped `llama`" in text_of(s.ask("stop llama", OWNER))
    wait(lambda: workload(s, kind) is None and not pods(s), timeout=20, what="the workload and its pods gone")
    wait(lambda: "Stopped" in card_text(s, "llama"), timeout=20, what="a stopped card")


def test_a_failed_rank_is_diagnosed_on_the_card(stack: tuple[str, BotStack]) -> None:
    _kind, s = stack
    launch(s, TEXT.replace("SIM_DURATION=20m", "SIM_DURATION=5m --env SIM_FAIL=oomkilled"), OWNER)
    wait(lambda: "Failed" in card_text(s, "llama"), timeout=40, what="a failed card")
    assert "memory" in card_text(s, "llama").lower()
