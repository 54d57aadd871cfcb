"""Kubernetes manifests for a job, as plain dicts (the Kubernetes adapter sends them as they are).

A single-node job is one ``batch/v1`` Job with one pod. A multi-node job is an Indexed Job with one
pod per node plus a headless Service, so every pod can reach the index-0 pod (torchrun's rendezvous
master) at the stable name ``<job>-0.<job>``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.domain.errors import ClusterFactError
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import Policy

MANAGED_BY = "gpu-chatops"
MANAGED_BY_SELECTOR = f"app.kubernetes.io/managed-by={MANAGED_BY}"

LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_NAME = "app.kubernetes.io/name"
LABEL_OWNER = "chatops.io/owner"
LABEL_TEAM = "chatops.io/team"
LABEL_GPU_TYPE = "chatops.io/gpu-type"

ANN_IDEMPOTENCY_KEY = "chatops.io/idempotency-key"
ANN_PRIORITY = "chatops.io/priority"
ANN_TIME_LIMIT = "chatops.io/time-limit"
ANN_GPUS = "chatops.io/gpus"

GPU_RESOURCE = "nvidia.com/gpu"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
CONTAINER_NAME = "trainer"
# With ``scheduler: kueue``: the team's LocalQueue, the WorkloadPriorityClass, Kueue's time limit.
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
KUEUE_PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
KUEUE_MAX_EXEC_LABEL = "kueue.x-k8s.io/max-exec-time-seconds"
KUEUE_LOCAL_QUEUE = "gpu-chatops"  # the LocalQueue's name in every team namespace
TTL_AFTER_FINISHED_S = 7 * 86400  # long enough to read logs and status after the end, then GC

# Variables the bot sets itself; a user's --env of the same name would break rendezvous, so it is dropped.
_SYSTEM_ENV = frozenset(
    {"CHATOPS_JOB_NAME", "MASTER_ADDR", "MASTER_PORT", "NNODES", "NPROC_PER_NODE", "NODE_RANK"}
)

_QUANTITY = re.compile(r"(?P<num>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|m)?")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"m": Decimal("0.001"), "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9),
            "T": Decimal(10**12), "P": Decimal(10**15), "E": Decimal(10**18)}


def multiply_quantity(quantity: str, factor: int) -> str:
    """``quantity`` × ``factor`` as a Kubernetes quantity string, exactly (``64Gi`` × 8 = ``512Gi``).

    The suffix is kept when the product stays whole in it; otherwise the product is given in the
    largest unit of the same family (binary or decimal) that keeps it whole, else in plain bytes.
    """
    m = _QUANTITY.fullmatch(quantity.strip())
    if m is None:
        raise ValueError(f"'{quantity}' is not a Kubernetes quantity (expected e.g. 64Gi or 500M)")
    try:
        num = Decimal(m["num"])
    except InvalidOperation as err:  # pragma: no cover - the regex only admits decimals
        raise ValueError(f"'{quantity}' is not a Kubernetes quantity") from err
    suffix = m["suffix"] or ""
    product = num * factor
    if product == product.to_integral_value():
        return f"{int(product)}{suffix}"
    units: dict[str, Decimal] = (
        {k: Decimal(v) for k, v in _BINARY.items()} if suffix in _BINARY else dict(_DECIMAL)
    )
    base = product * units.get(suffix, Decimal(1))
    for unit, size in sorted(units.items(), key=lambda kv: kv[1], reverse=True):
        if size >= 1 and (base / size) == (base / size).to_integral_value():
            return f"{int(base / size)}{unit}"
    if base == base.to_integral_value():
        return str(int(base))
    # Fractions of a byte/core: millis are the finest unit Kubernetes keeps.
    return f"{int((base * 1000).to_integral_value())}m"


def job_labels(record: JobRecord) -> dict[str, str]:
    """The labels on every object of ``record`` (Job, pods, Service); selectors use them."""
    return {
        LABEL_MANAGED_BY: MANAGED_BY,
        LABEL_NAME: record.name,
        LABEL_OWNER: record.owner,
        LABEL_TEAM: record.team,
        LABEL_GPU_TYPE: record.gpu_type,
    }


def job_annotations(record: JobRecord) -> dict[str, str]:
    """What the watcher and a restarted bot need to rebuild the record from the cluster alone."""
    return {
        ANN_IDEMPOTENCY_KEY: record.idempotency_key,
        ANN_PRIORITY: record.priority,
        ANN_TIME_LIMIT: str(record.time_limit_s),
        ANN_GPUS: str(record.gpus),
    }


def object_metadata(record: JobRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "namespace": record.namespace,
        "labels": job_labels(record),
        "annotations": job_annotations(record),
    }


def _env(record: JobRecord, policy: Policy, master_addr: str) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        {"name": k, "value": v} for k, v in sorted(record.env.items()) if k not in _SYSTEM_ENV
    ]
    env.append({"name": "CHATOPS_JOB_NAME", "value": record.name})
    # For commands like `torchrun --nnodes=$(NNODES) --nproc-per-node=$(NPROC_PER_NODE) ...`
    # (Kubernetes expands $(VAR) in command); harmless when unused.
    env.append({"name": "NNODES", "value": str(record.nodes)})
    env.append({"name": "NPROC_PER_NODE", "value": str(record.gpus_per_node)})
    if record.nodes > 1:
        env.append({"name": "MASTER_ADDR", "value": master_addr})
        env.append({"name": "MASTER_PORT", "value": str(policy.job_defaults.master_port)})
        env.append({
            "name": "NODE_RANK",
            "valueFrom": {
                "fieldRef": {"fieldPath": f"metadata.annotations['{COMPLETION_INDEX_ANNOTATION}']"}
            },
        })
    return env


def _gpu_product(record: JobRecord, policy: Policy) -> str:
    try:
        return policy.gpu_types[record.gpu_type]
    except KeyError:
        known = ", ".join(sorted(policy.gpu_types))
        raise ClusterFactError(
            f"GPU type '{record.gpu_type}' is not in the policy's gpu_types", f"use one of: {known}"
        ) from None


def pod_spec(record: JobRecord, policy: Policy, *, master_addr: str | None = None) -> dict[str, Any]:
    """The pod spec of every pod of ``record``. ``master_addr``: the rank-0 pod's DNS name when a
    JobSet gives the pods their names; None for the Indexed Job, whose Service the bot makes."""
    if record.nodes < 1 or record.gpus < record.nodes or record.gpus % record.nodes:
        # Every node gets the same share; an uneven split would silently drop GPUs.
        raise ClusterFactError(
            f"{record.gpus} GPUs cannot be split evenly over {record.nodes} nodes",
            f"ask for a multiple of {max(record.nodes, 1)} GPUs, e.g. --gpus {max(record.nodes, 1) * 8}",
        )
    d = policy.job_defaults
    n = record.gpus_per_node
    quantities = {
        GPU_RESOURCE: str(n),
        "cpu": str(record.cpus or d.cpu_per_gpu * n),
        "memory": record.memory or multiply_quantity(d.memory_per_gpu, n),
    }
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": record.image,
        "env": _env(record, policy, master_addr or f"{record.name}-0.{record.name}"),
        # requests == limits: Guaranteed QoS, so a training pod is the last to be evicted.
        "resources": {"limits": dict(quantities), "requests": dict(quantities)},
        "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
    }
    if record.command:
        container["command"] = list(record.command)
    if record.nodes > 1:
        container["ports"] = [{"name": "rendezvous", "containerPort": d.master_port, "protocol": "TCP"}]
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "nodeSelector": {GPU_PRODUCT_LABEL: _gpu_product(record, policy)},
        "tolerations": [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}],
        "terminationGracePeriodSeconds": d.termination_grace_period_s,
        # Thousands of service env vars slow start-up and can clash with the training script's own.
        "enableServiceLinks": False,
        "containers": [container],
        # NCCL and DataLoader workers use /dev/shm; the container default of 64Mi is far too small.
        "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": d.shm_size}}],
    }
    if record.nodes > 1 and master_addr is None:
        spec["subdomain"] = record.name  # pods resolve as <job>-<index>.<job> via the headless Service
    return spec


def kueue_labels(record: JobRecord) -> dict[str, str]:
    """What a Job queued in Kueue carries: its LocalQueue, its WorkloadPriorityClass, its time limit."""
    return {KUEUE_QUEUE_LABEL: KUEUE_LOCAL_QUEUE, KUEUE_PRIORITY_LABEL: record.priority,
            KUEUE_MAX_EXEC_LABEL: str(int(record.time_limit_s))}


def render_job(record: JobRecord, policy: Policy, *, suspend: bool = False) -> dict[str, Any]:
    """The ``batch/v1`` Job for ``record``; ``suspend=True`` creates it without starting pods.

    With ``scheduler: kueue`` it is always created suspended and queue-labelled: Kueue unsuspends it.
    """
    kueue = policy.scheduler.mode == "kueue"
    suspend = suspend or kueue
    spec: dict[str, Any] = {
        "suspend": suspend,
        "backoffLimit": 0,  # a failed training run is reported, not silently rerun on the team's GPUs
        "activeDeadlineSeconds": record.time_limit_s,
        "ttlSecondsAfterFinished": TTL_AFTER_FINISHED_S,
        "completions": record.nodes,
        "parallelism": record.nodes,
        "template": {
            "metadata": {"labels": job_labels(record), "annotations": job_annotations(record)},
            "spec": pod_spec(record, policy),
        },
    }
    if record.nodes > 1:
        # Indexed pods get stable hostnames <job>-<index> and their index as an annotation.
        spec["completionMode"] = "Indexed"
    meta = object_metadata(record)
    if kueue:
        meta["labels"].update(kueue_labels(record))
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": spec}


def render_service(record: JobRecord, policy: Policy) -> dict[str, Any] | None:
    """The headless Service that gives a multi-node job's pods DNS names; None for one node."""
    if record.nodes <= 1:
        return None
    port = policy.job_defaults.master_port
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_metadata(record),
        "spec": {
            "clusterIP": "None",
            # Our own labels rather than the controller's job-name label, so simulators select too.
            "selector": {LABEL_MANAGED_BY: MANAGED_BY, LABEL_NAME: record.name},
            # Rendezvous happens before any pod is Ready; the names must resolve from the start.
            "publishNotReadyAddresses": True,
            "ports": [{"name": "rendezvous", "port": port, "targetPort": port, "protocol": "TCP"}],
        },
    }


def record_manifests(record: JobRecord, policy: Policy) -> list[dict[str, Any]]:
    """Every object a record becomes, in creation order: the Job, then its Service when it has one.
    The dry run of a preview and the dispatcher's create both send exactly this list."""
    manifests = [render_job(record, policy)]
    service = render_service(record, policy)
    if service is not None:
        manifests.append(service)
    return manifests
