"""Least privilege with ``scheduler: kueue``, derived like tests/e2e/test_rbac.py: run the bot in Kueue mode
against the emulated Kueue, collect every (group, resource, verb) it called, and check that base/rbac.yaml
plus deploy/components/kueue/rbac.yaml grant all of them and nothing more of Kueue's; and that the
component's queues are exactly ``chatops kueue-config examples/chatops.yaml``."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.domain.cluster.kueue import kueue_objects
from bot.domain.policy.config import load_policy
from bot.sim.cluster import NodeSpec
from tests.support.botstack import H100, bot_stack
from tests.support.watching import launch, wait_card

ROOT = Path(__file__).resolve().parents[2]
COMPONENT = ROOT / "deploy/components/kueue"
GROUPS = {"jobs": "batch", "workloads": "kueue.x-k8s.io", "localqueues": "kueue.x-k8s.io",
          "clusterqueues": "kueue.x-k8s.io", "resourceflavors": "kueue.x-k8s.io",
          "workloadpriorityclasses": "kueue.x-k8s.io"}
KUEUE_GROUPS = {"kueue.x-k8s.io", "visibility.kueue.x-k8s.io"}
IMAGE = "ghcr.io/acme/train:1.4"
Perm = tuple[str, str, str]


def _granted(path: Path) -> dict[str, set[Perm]]:
    roles: dict[str, set[Perm]] = {}
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc["kind"] == "ClusterRole":
            perms = roles.setdefault(doc["metadata"]["name"], set())
            for rule in doc["rules"]:
                perms.update((g, r, v) for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"])
    return roles


def test_kueue_rbac_grants_exactly_what_the_bot_uses(redis_url: str) -> None:
    nodes = [NodeSpec(f"h100-{i}", 8, H100) for i in range(3)]
    with bot_stack(redis_url, nodes=nodes, speed=60, kueue=True) as stack:
        first = launch(stack, f"launch first --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 "
                       "--env SIM_DURATION=1h")
        wait_card(stack, first, "Running")
        second = launch(stack, f"launch second --image {IMAGE} --gpus 16 --gpu-type h100 --nodes 2 "
                        "--env SIM_DURATION=1h")
        wait_card(stack, second, "Queued", "#1 in Kueue")
        for text in ("queue", "status second", "list --all"):
            stack.ask(text, "URES0001")
        assert "Stopped" in stack.ask(f"stop {second}", "URES0001")["text"]
        assert "Stopped" in stack.ask(f"stop {first}", "URES0001")["text"]
    namespaced: set[Perm] = set()
    cluster: set[Perm] = set()
    for rec in stack.sim.request_log:
        resource = f"{rec.resource}/{rec.subresource}" if rec.subresource else rec.resource
        group = "visibility.kueue.x-k8s.io" if rec.subresource == "pendingworkloads" else GROUPS.get(rec.resource, "")
        (namespaced if rec.namespace else cluster).add((group, resource, rec.verb))
    base, extra = _granted(ROOT / "deploy/base/rbac.yaml"), _granted(COMPONENT / "rbac.yaml")
    team = base["gpu-chatops-team-namespace"] | extra["gpu-chatops-kueue-team-namespace"]
    cluster_read = base["gpu-chatops-cluster-read"] | extra["gpu-chatops-kueue-read"]
    assert not cluster - cluster_read, f"cluster-wide calls not granted: {sorted(cluster - cluster_read)}"
    assert not namespaced - team - cluster_read, f"namespaced calls not granted: {sorted(namespaced - team)}"
    used_kueue = {p for p in namespaced | cluster if p[0] in KUEUE_GROUPS}
    granted_kueue = {p for p in team | cluster_read if p[0] in KUEUE_GROUPS}
    assert granted_kueue == used_kueue, f"granted but never used: {sorted(granted_kueue - used_kueue)}"


def test_the_component_holds_kueue_config_of_the_example_policy() -> None:
    shipped = [d for d in yaml.safe_load_all((COMPONENT / "kueue.yaml").read_text()) if d]
    assert shipped == kueue_objects(load_policy(ROOT / "examples/chatops.yaml"))
    kinds = [d["kind"] for d in shipped]
    assert kinds.count("ResourceFlavor") == 4 and kinds.count("ClusterQueue") == 2
    assert kinds.count("LocalQueue") == 2 and kinds.count("WorkloadPriorityClass") == 3
    research = next(d for d in shipped if d["kind"] == "ClusterQueue" and d["metadata"]["name"].endswith("research"))
    assert research["spec"]["cohortName"] == "gpu-chatops"
    assert research["spec"]["preemption"] == {"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority"}
    h100 = next(f for f in research["spec"]["resourceGroups"][0]["flavors"] if f["name"] == "h100")
    assert {"name": "nvidia.com/gpu", "nominalQuota": "16"} in h100["resources"]
    flavor = next(d for d in shipped if d["kind"] == "ResourceFlavor" and d["metadata"]["name"] == "h100")
    assert flavor["spec"]["nodeLabels"] == {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}
