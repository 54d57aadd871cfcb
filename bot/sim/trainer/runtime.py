"""The built-in ClusterTrainingRuntime ``torch-distributed`` (Trainer's ``manifests/base/runtimes``), and how
a TrainJob and its ``runtimePatches`` are laid over a runtime's JobSet template."""

from __future__ import annotations

from typing import Any

from bot.domain.cluster.objects import Obj
from bot.sim.store import clone

API_VERSION = "trainer.kubeflow.org/v1alpha1"
NODE = "node"  # the replicated job and container the torch plugin fills with the trainer
MASTER_PORT = 29500  # constants.ContainerTrainerPort


def torch_distributed() -> Obj:
    return {
        "apiVersion": API_VERSION, "kind": "ClusterTrainingRuntime",
        "metadata": {"name": "torch-distributed", "labels": {"trainer.kubeflow.org/framework": "torch"}},
        "spec": {
            "mlPolicy": {"numNodes": 1, "torch": {}},
            "template": {"spec": {"replicatedJobs": [{
                "name": NODE,
                "template": {
                    "metadata": {"labels": {"trainer.kubeflow.org/trainjob-ancestor-step": "trainer"}},
                    "spec": {"template": {"spec": {"containers": [{
                        "name": NODE, "image": "pytorch/pytorch:2.13.0-cuda13.0-cudnn9-runtime",
                    }]}}},
                },
            }]}},
        },
    }


def _by_name(items: list[Obj], name: str) -> Obj | None:
    return next((i for i in items if i.get("name") == name), None)


def _merge_env(env: list[Obj], extra: list[Obj]) -> list[Obj]:
    names = {e.get("name") for e in extra}
    return [*(e for e in env if e.get("name") not in names), *extra]


def _torch_env(tj: Obj, nodes: int, per_node: Any) -> list[Obj]:
    name = tj["metadata"]["name"]
    return [
        {"name": "PET_NNODES", "value": str(nodes)},
        {"name": "PET_NPROC_PER_NODE", "value": str(per_node)},
        {"name": "PET_NODE_RANK", "valueFrom": {"fieldRef": {
            "fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}},
        {"name": "PET_MASTER_ADDR", "value": f"{name}-{NODE}-0-0.{name}"},
        {"name": "PET_MASTER_PORT", "value": str(MASTER_PORT)},
    ]


def _apply_patch(rjob: Obj, patch: Obj) -> None:
    pod_patch = (((patch.get("template") or {}).get("spec") or {}).get("template")) or {}
    pod = rjob["template"]["spec"]["template"]
    meta = pod.setdefault("metadata", {})
    for key in ("labels", "annotations"):
        if (pod_patch.get("metadata") or {}).get(key):
            meta[key] = {**(meta.get(key) or {}), **pod_patch["metadata"][key]}
    spec = pod.setdefault("spec", {})
    for key, value in (pod_patch.get("spec") or {}).items():
        if key in ("containers", "initContainers"):
            for cpatch in value:
                target = _by_name(spec.get(key) or [], cpatch.get("name", ""))
                if target is None:
                    continue
                target["env"] = _merge_env(target.get("env") or [], cpatch.get("env") or [])
                target["volumeMounts"] = [*(target.get("volumeMounts") or []), *(cpatch.get("volumeMounts") or [])]
        elif key in ("volumes", "tolerations", "imagePullSecrets", "schedulingGates"):
            spec[key] = [*(spec.get(key) or []), *value]
        elif key == "nodeSelector":
            spec[key] = {**(spec.get(key) or {}), **value}
        else:
            spec[key] = value


def jobset_for(tj: Obj, runtime: Obj) -> Obj:
    """The JobSet Trainer's jobset and torch plugins build for ``tj`` from ``runtime``."""
    meta, spec = tj["metadata"], tj["spec"]
    trainer = spec.get("trainer") or {}
    js_spec: Obj = clone((runtime["spec"].get("template") or {}).get("spec") or {})
    nodes = int(trainer.get("numNodes") or (runtime["spec"].get("mlPolicy") or {}).get("numNodes") or 1)
    per_node = trainer.get("numProcPerNode") or "auto"
    for rjob in js_spec.get("replicatedJobs") or []:
        job_spec = rjob["template"].setdefault("spec", {})
        if rjob["name"] != NODE:
            continue
        job_spec["parallelism"] = job_spec["completions"] = nodes
        container = _by_name(job_spec["template"]["spec"]["containers"], NODE)
        if container is not None:
            for key in ("image", "command", "args"):
                if trainer.get(key):
                    container[key] = trainer[key]
            if trainer.get("resourcesPerNode"):
                container["resources"] = clone(trainer["resourcesPerNode"])
            env = _merge_env(container.get("env") or [], clone(trainer.get("env") or []))
            container["env"] = _merge_env(env, _torch_env(tj, nodes, per_node))
            container["ports"] = [{"containerPort": MASTER_PORT, "protocol": "TCP"}]
        for patch in spec.get("runtimePatches") or []:
            for rpatch in (((patch.get("trainingRuntimeSpec") or {}).get("template") or {}).get("spec") or {}).get(
                    "replicatedJobs") or []:
                if rpatch.get("name") == rjob["name"]:
                    _apply_patch(rjob, rpatch)
    js_spec["network"] = {**(js_spec.get("network") or {}), "enableDNSHostnames": True}
    js_spec["suspend"] = bool(spec.get("suspend"))
    owner = {"apiVersion": API_VERSION, "kind": "TrainJob", "name": meta["name"], "uid": meta["uid"],
             "controller": True, "blockOwnerDeletion": True}
    return {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"], "ownerReferences": [owner],
                         "labels": clone((runtime["spec"].get("template") or {}).get("metadata", {}).get(
                             "labels") or {})},
            "spec": js_spec}
