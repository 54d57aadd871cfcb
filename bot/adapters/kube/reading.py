"""Reading the Kubernetes objects the bot lists: quantities and a Job's phase (no API calls here)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from bot.domain.cluster.manifests import LABEL_NAME
from bot.domain.cluster.objects import Job, Node, Pod
from bot.domain.cluster.snapshot import JobPhase, Snapshot
from bot.domain.resources import quantity_value
from bot.domain.scheduling.model import ClusterFacts, NodeFacts

IDEMPOTENCY_ANNOTATION = "chatops.io/idempotency-key"


def quantity(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def amount(value: Any) -> Decimal:
    """A node's allocatable cpu or memory in cores or bytes; 0 when absent or unreadable."""
    try:
        return quantity_value(str(value)) if value is not None else Decimal(0)
    except ValueError:
        return Decimal(0)


def phase_of(job: Job) -> JobPhase:
    meta, status = job["metadata"], job.get("status", {})
    finished, reason = None, None
    for cond in status.get("conditions", []) or []:
        if cond.get("status") != "True":
            continue
        if cond.get("type") == "Complete":
            finished, reason = "succeeded", None
        elif cond.get("type") == "Failed":
            finished, reason = "failed", cond.get("reason") or cond.get("message")
    suspended = bool(job.get("spec", {}).get("suspend"))
    idem = (meta.get("annotations") or {}).get(IDEMPOTENCY_ANNOTATION)
    return JobPhase(meta["namespace"], meta["name"], finished, reason, suspended,
                    bool(meta.get("deletionTimestamp")), idem)


GPU = "nvidia.com/gpu"
PRODUCT_LABEL = "nvidia.com/gpu.product"
JOB_NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")


def snapshot_of(nodes: list[Node], pods: list[Pod], short_by_product: Mapping[str, str]) -> Snapshot:
    """GPU nodes, the GPUs that pods hold on each, and bound pods per bot job, from listed objects."""
    facts = ClusterFacts()
    for node in nodes:
        meta, status = node["metadata"], node.get("status", {})
        product = meta.get("labels", {}).get(PRODUCT_LABEL)
        ready = any(
            c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions", [])
        )
        alloc = status.get("allocatable", {})
        facts.nodes.append(
            NodeFacts(
                name=meta["name"],
                gpu_type=short_by_product.get(product) if product else None,
                allocatable=quantity(alloc.get(GPU, 0)),
                ready=ready or not status.get("conditions"),
                cpu=float(amount(alloc.get("cpu"))),
                memory=int(amount(alloc.get("memory"))),
            )
        )
    bound: dict[str, int] = {}
    held: dict[str, dict[str, int]] = {}
    for pod in pods:
        spec, pod_status = pod.get("spec", {}), pod.get("status", {})
        node_name = spec.get("nodeName")
        if not node_name or pod_status.get("phase") in ("Succeeded", "Failed"):
            continue
        gpus = sum(
            quantity(c.get("resources", {}).get("limits", {}).get(GPU, 0)) for c in spec.get("containers", [])
        )
        facts.used[node_name] = facts.used.get(node_name, 0) + gpus
        labels = pod["metadata"].get("labels", {})
        # the bot job's name (a JobSet's pods belong to child Jobs named <jobset>-node-0)
        job = labels.get(LABEL_NAME) or next((labels[k] for k in JOB_NAME_LABELS if k in labels), None)
        if job and labels.get("app.kubernetes.io/managed-by") == "gpu-chatops":
            key = f"{pod['metadata']['namespace']}/{job}"
            bound[key] = bound.get(key, 0) + 1
            on_node = held.setdefault(key, {})
            on_node[node_name] = on_node.get(node_name, 0) + gpus
    return Snapshot(facts, bound, held)
