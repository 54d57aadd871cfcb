"""A job as one Kubeflow Trainer v2 ``trainer.kubeflow.org/v1alpha1`` TrainJob (``job_kind: trainjob``).

The TrainJob names a ClusterTrainingRuntime (``trainer.runtime`` in the policy, e.g. ``torch-distributed``)
and says only what differs per job: image, command, env, ``numNodes``, ``numProcPerNode`` and
``resourcesPerNode``. Trainer builds a JobSet named like the TrainJob from the runtime, with torchrun's
``PET_*`` variables (``PET_MASTER_ADDR`` = ``<trainjob>-node-0-0.<trainjob>``). What the TrainJob's own
fields cannot carry (the owner labels on the pods, the GPU node selector, ``/dev/shm``) goes in one
``runtimePatches`` entry whose manager is the bot. Field names follow ``pkg/apis/trainer/v1alpha1``.
"""

from __future__ import annotations

from typing import Any

from bot.domain.cluster.manifests import (
    GPU_PRODUCT_LABEL,
    GPU_RESOURCE,
    MANAGED_BY,
    job_annotations,
    job_labels,
    object_metadata,
    pod_spec,
)
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import Policy

API_VERSION = "trainer.kubeflow.org/v1alpha1"
GROUP = "trainer.kubeflow.org"
VERSION = "v1alpha1"
KIND = "TrainJob"
PLURAL = "trainjobs"
RUNTIME_KIND = "ClusterTrainingRuntime"
RUNTIME_PLURAL = "clustertrainingruntimes"
NODE_JOB = "node"  # the replicated job (and container) torch runtimes run the trainer in
# torchrun's variables Trainer sets itself; a TrainJob that sets them is refused by Trainer's webhook
RESERVED_ENV = frozenset({"PET_NNODES", "PET_NPROC_PER_NODE", "PET_NODE_RANK", "PET_MASTER_ADDR",
                          "PET_MASTER_PORT"})


def _trainer(record: JobRecord, policy: Policy) -> dict[str, Any]:
    pod = pod_spec(record, policy, master_addr="")
    container = pod["containers"][0]
    env = [e for e in container["env"] if e["name"] not in RESERVED_ENV and "valueFrom" not in e
           and e["name"] not in ("MASTER_ADDR", "MASTER_PORT")]
    trainer: dict[str, Any] = {
        "image": record.image,
        "env": env,
        "numNodes": record.nodes,
        "numProcPerNode": record.gpus_per_node,
        "resourcesPerNode": container["resources"],
    }
    if record.command:
        trainer["command"] = list(record.command)
    return trainer


def _runtime_patch(record: JobRecord, policy: Policy) -> dict[str, Any]:
    pod = pod_spec(record, policy, master_addr="")
    volume_mounts = pod["containers"][0]["volumeMounts"]
    pod_patch: dict[str, Any] = {
        "nodeSelector": {GPU_PRODUCT_LABEL: pod["nodeSelector"][GPU_PRODUCT_LABEL]},
        "tolerations": [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}],
        "terminationGracePeriodSeconds": pod["terminationGracePeriodSeconds"],
        "volumes": pod["volumes"],
        "containers": [{"name": NODE_JOB, "volumeMounts": volume_mounts}],
    }
    return {
        "manager": f"chatops.io/{MANAGED_BY}",
        "trainingRuntimeSpec": {"template": {"spec": {"replicatedJobs": [{
            "name": NODE_JOB,
            "template": {"spec": {"template": {
                "metadata": {"labels": job_labels(record), "annotations": job_annotations(record)},
                "spec": pod_patch,
            }}},
        }]}}},
    }


def render_trainjob(record: JobRecord, policy: Policy) -> dict[str, Any]:
    """The TrainJob for ``record``, referring to the policy's ClusterTrainingRuntime."""
    spec: dict[str, Any] = {
        "runtimeRef": {"name": policy.trainer.runtime, "apiGroup": GROUP, "kind": RUNTIME_KIND},
        "trainer": _trainer(record, policy),
        "runtimePatches": [_runtime_patch(record, policy)],
        "activeDeadlineSeconds": record.time_limit_s,
        "suspend": False,
    }
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": object_metadata(record), "spec": spec}

