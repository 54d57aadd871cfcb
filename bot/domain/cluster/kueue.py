"""Kueue, as the bot sees it: the objects that realise a policy (``chatops kueue-config``), the labels a
queued job carries, and the names of a team's queues. Pure.

One ResourceFlavor per GPU type (node label ``nvidia.com/gpu.product``); one ClusterQueue per team with
``gpu_quota`` GPUs of every flavor as nominal quota (Kueue counts quota per flavor; the bot's own scheduler
counts a team's GPUs across types), CPU and memory in proportion (``job_defaults``), all in one cohort so
idle quota is borrowed and reclaimed; a LocalQueue in each team namespace; three WorkloadPriorityClasses.
"""

from __future__ import annotations

from typing import Any

from bot.domain.cluster.manifests import (
    GPU_PRODUCT_LABEL,
    GPU_RESOURCE,
    KUEUE_LOCAL_QUEUE,
    KUEUE_MAX_EXEC_LABEL,
    KUEUE_PRIORITY_LABEL,
    KUEUE_QUEUE_LABEL,
    MANAGED_BY,
    multiply_quantity,
)
from bot.domain.policy.config import Policy

GROUP = "kueue.x-k8s.io"
API_VERSION = f"{GROUP}/v1beta2"
VISIBILITY_API_VERSION = f"visibility.{GROUP}/v1beta2"
QUEUE_LABEL, PRIORITY_LABEL, MAX_EXEC_LABEL = KUEUE_QUEUE_LABEL, KUEUE_PRIORITY_LABEL, KUEUE_MAX_EXEC_LABEL
JOB_UID_LABEL = f"{GROUP}/job-uid"
COHORT = "gpu-chatops"
LOCAL_QUEUE = KUEUE_LOCAL_QUEUE
# Far apart, so an administrator can slot their own classes between ours.
PRIORITY_VALUES = {"low": 100, "normal": 1000, "high": 10000}
_LABELS = {"app.kubernetes.io/managed-by": MANAGED_BY}


def cluster_queue_name(team: str) -> str:
    return f"gpu-chatops-{team}"


def team_of_queue(cluster_queue: str | None) -> str | None:
    """The team a ClusterQueue of ``kueue_objects`` serves; None for a queue the bot did not make."""
    prefix = cluster_queue_name("")
    return cluster_queue[len(prefix):] if cluster_queue and cluster_queue.startswith(prefix) else None


def _meta(name: str, namespace: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": dict(_LABELS)}
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def kueue_objects(policy: Policy) -> list[dict[str, Any]]:
    """ResourceFlavors, ClusterQueues, LocalQueues and WorkloadPriorityClasses, in the order to apply."""
    out: list[dict[str, Any]] = []
    for gpu, product in policy.gpu_types.items():
        out.append({"apiVersion": API_VERSION, "kind": "ResourceFlavor", "metadata": _meta(gpu),
                    "spec": {"nodeLabels": {GPU_PRODUCT_LABEL: product}}})
    d = policy.job_defaults
    for team_name, team in policy.teams.items():
        quota = team.gpu_quota
        flavors = [{"name": gpu, "resources": [
            {"name": "cpu", "nominalQuota": str(quota * d.cpu_per_gpu)},
            {"name": "memory", "nominalQuota": multiply_quantity(d.memory_per_gpu, quota)},
            {"name": GPU_RESOURCE, "nominalQuota": str(quota)},
        ]} for gpu in policy.gpu_types]
        out.append({"apiVersion": API_VERSION, "kind": "ClusterQueue", "metadata": _meta(cluster_queue_name(team_name)),
                    "spec": {
                        "cohortName": COHORT,
                        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": team.namespace}},
                        "queueingStrategy": "BestEffortFIFO",
                        "preemption": {"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority"},
                        "resourceGroups": [{"coveredResources": ["cpu", "memory", GPU_RESOURCE],
                                            "flavors": flavors}],
                    }})
    for team_name, team in policy.teams.items():
        out.append({"apiVersion": API_VERSION, "kind": "LocalQueue", "metadata": _meta(LOCAL_QUEUE, team.namespace),
                    "spec": {"clusterQueue": cluster_queue_name(team_name)}})
    for name, value in PRIORITY_VALUES.items():
        out.append({"apiVersion": API_VERSION, "kind": "WorkloadPriorityClass", "metadata": _meta(name),
                    "value": value, "description": f"gpu-chatops priority {name}"})
    return out
