"""Least privilege, derived: run the bot through its paths against the emulated API server, collect
every (verb, resource, scope) it actually called from the server's request log, and check that
deploy/base/rbac.yaml grants all of them and nothing more."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.domain.cluster.manifests import render_job, render_service
from bot.render import replies as rendering
from bot.sim.cluster import NodeSpec
from tests.support.botstack import H100, L40S, BotStack, bot_stack, button_value
from tests.support.watching import wait_card

RBAC = Path(__file__).resolve().parents[2] / "deploy/base/rbac.yaml"
GROUPS = {"jobs": "batch"}
IMAGE = "ghcr.io/acme/train:1.4"
Perm = tuple[str, str, str]  # (api group, resource[/subresource], verb)


def _launch(stack: BotStack, text: str) -> None:
    token = button_value(stack.ask(text, "URES0001"), rendering.LAUNCH_CONFIRM)
    _, rid = stack.click(rendering.LAUNCH_CONFIRM, token, "URES0001")
    assert "Submitted" in stack.answer(rid)["text"]


def _exercise(stack: BotStack) -> None:
    _launch(stack, f"launch one --image {IMAGE} --gpus 1 --gpu-type h100 --env SIM_DURATION=1h")
    _launch(stack, f"launch two --image {IMAGE} --gpus 8 --nodes 2 --gpu-type h100 --env SIM_DURATION=1h")
    _launch(stack, f"launch short --image {IMAGE} --gpus 1 --gpu-type l40s --env SIM_DURATION=10s")
    wait_card(stack, "two", "Running")
    for text in ("status one", "logs two --tail 5", "list --all", "queue", "gpus", "extend two 1h"):
        stack.ask(text, "URES0001")
    # A crash between admit and create: the create is repeated, answered 409, and read back as ours.
    rt = stack.bot.runtime
    record = rt.store.get("ml-research", "two")
    assert record is not None
    manifests = [render_job(record, rt.policy), render_service(record, rt.policy)]
    rt.cluster.create([m for m in manifests if m is not None], record.idempotency_key)
    stack.ask("stop one", "URES0001")
    stack.ask("stop two", "URES0001")
    wait_card(stack, "short", "Succeeded")  # as Slack holds it (posted final, or updated)


def _used(stack: BotStack) -> tuple[set[Perm], set[Perm]]:
    """(namespaced, cluster-wide) permissions the bot used (the test's own reads are excluded)."""
    namespaced: set[Perm] = set()
    cluster: set[Perm] = set()
    for rec in stack.sim.request_log:
        resource = f"{rec.resource}/{rec.subresource}" if rec.subresource else rec.resource
        perm = (GROUPS.get(rec.resource, ""), resource, rec.verb)
        (namespaced if rec.namespace else cluster).add(perm)
    return namespaced, cluster


def _granted() -> dict[str, set[Perm]]:
    roles: dict[str, set[Perm]] = {}
    for doc in yaml.safe_load_all(RBAC.read_text()):
        if doc and doc["kind"] == "ClusterRole":
            perms = roles.setdefault(doc["metadata"]["name"], set())
            for rule in doc["rules"]:
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        perms.update((group, resource, verb) for verb in rule["verbs"])
    return roles


def test_rbac_grants_exactly_what_the_bot_uses(redis_url: str) -> None:
    nodes = [NodeSpec("h100-0", 8, H100), NodeSpec("h100-1", 8, H100), NodeSpec("l40s-0", 4, L40S)]
    with bot_stack(redis_url, nodes=nodes, speed=60) as stack:
        _exercise(stack)
    namespaced, cluster = _used(stack)  # after shutdown: open watches are logged when they end
    roles = _granted()
    team, cluster_read = roles["gpu-chatops-team-namespace"], roles["gpu-chatops-cluster-read"]
    missing_cluster = cluster - cluster_read
    missing_ns = namespaced - team - cluster_read
    assert not missing_cluster, f"cluster-wide calls not granted: {sorted(missing_cluster)}"
    assert not missing_ns, f"namespaced calls not granted: {sorted(missing_ns)}"
    assert not team - namespaced, f"granted in team namespaces but never used: {sorted(team - namespaced)}"
    assert not cluster_read - cluster, f"granted cluster-wide but never used: {sorted(cluster_read - cluster)}"
