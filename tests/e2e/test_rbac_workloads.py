"""Least privilege for job_kind jobset / trainjob, derived like tests/test_rbac.py: the bot runs its paths
in each mode against ``chatops sim --trainer``; every (group, resource, verb) it called beyond
deploy/base/rbac.yaml must be granted by deploy/components/workload-kinds, and that grants nothing more."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.domain.cluster.workloads import render_workload
from bot.sim.cluster import NodeSpec
from tests.e2e.test_rbac import RBAC, Perm, _granted, _launch
from tests.e2e.test_workload_kinds_e2e import policy_of
from tests.support.botstack import H100, bot_stack
from tests.support.waiting import wait

COMPONENT = Path(__file__).resolve().parents[2] / "deploy/components/workload-kinds/rbac.yaml"
GROUPS = {"jobs": "batch", "jobsets": "jobset.x-k8s.io", "trainjobs": "trainer.kubeflow.org"}
IMAGE = "ghcr.io/acme/train:1.4"


def _roles(path: Path) -> dict[str, set[Perm]]:
    roles: dict[str, set[Perm]] = {}
    for doc in yaml.safe_load_all(path.read_text()):
        if doc and doc["kind"] == "ClusterRole":
            perms = roles.setdefault(doc["metadata"]["name"], set())
            for rule in doc["rules"]:
                perms.update((g, r, v) for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"])
    return roles


def _used(kind: str, redis_url: str) -> tuple[set[Perm], set[Perm]]:
    nodes = [NodeSpec(f"h100-{i}", 8, H100) for i in range(3)]
    with bot_stack(redis_url, nodes=nodes, policy=policy_of(kind), extensions=("trainer",)) as stack:
        _launch(stack, f"launch one --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=1h")
        _launch(stack, f"launch two --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 --env SIM_DURATION=1h")
        store = stack.sim.cluster.store
        wait(lambda: len(store.list("pods", "ml-research")[1]) == 3, timeout=20, what="three pods")
        for text in ("status two", "logs two --tail 5", "list --all", "queue", "gpus"):
            stack.ask(text, "URES0001")
        rt = stack.bot.runtime  # a crash between admit and create: the create repeats, 409, read back
        record = rt.store.get("ml-research", "two")
        assert record is not None
        rt.cluster.create(render_workload(record, rt.policy), record.idempotency_key)
        stack.ask("stop one", "URES0001")
        stack.ask("stop two", "URES0001")
    namespaced: set[Perm] = set()
    cluster: set[Perm] = set()
    for rec in stack.sim.request_log:
        resource = f"{rec.resource}/{rec.subresource}" if rec.subresource else rec.resource
        (namespaced if rec.namespace else cluster).add((GROUPS.get(rec.resource, ""), resource, rec.verb))
    return namespaced, cluster


def test_the_workload_kinds_component_grants_exactly_the_extra_calls(redis_url: str) -> None:
    base = _granted()
    team, cluster_read = base["gpu-chatops-team-namespace"], base["gpu-chatops-cluster-read"]
    extra = _roles(COMPONENT)
    team_extra, read_extra = extra["gpu-chatops-team-workloads"], extra["gpu-chatops-cluster-read-workloads"]
    used_ns: set[Perm] = set()
    used_cluster: set[Perm] = set()
    for kind in ("jobset", "trainjob"):
        ns, cl = _used(kind, redis_url)
        used_ns |= ns
        used_cluster |= cl
    assert not used_cluster - cluster_read - read_extra, sorted(used_cluster - cluster_read - read_extra)
    assert not used_ns - team - team_extra - cluster_read, sorted(used_ns - team - team_extra - cluster_read)
    assert not team_extra - used_ns, f"granted but never used: {sorted(team_extra - used_ns)}"
    assert not read_extra - used_cluster, f"granted but never used: {sorted(read_extra - used_cluster)}"
    assert RBAC.exists()
