"""What Trainer's TrainJob webhooks do on create: default ``runtimeRef``, stamp ``runtimePatches[].time``,
refuse reserved ``PET_*`` variables and a runtime that is not there."""

from __future__ import annotations

from bot.domain.cluster.objects import Obj
from bot.sim.store import Store

Problems = list[tuple[str, str]]
RESERVED = ("PET_NNODES", "PET_NPROC_PER_NODE", "PET_NODE_RANK", "PET_MASTER_ADDR", "PET_MASTER_PORT")


def default(tj: Obj, now: str) -> None:
    spec = tj.setdefault("spec", {})
    ref = spec.setdefault("runtimeRef", {})
    ref.setdefault("apiGroup", "trainer.kubeflow.org")
    ref.setdefault("kind", "ClusterTrainingRuntime")
    for patch in spec.get("runtimePatches") or []:
        if isinstance(patch, dict):
            patch.setdefault("time", now)
    tj["status"] = {}


def problems(tj: Obj, store: Store) -> Problems:
    spec = tj.get("spec") or {}
    ref = spec.get("runtimeRef") or {}
    out: Problems = []
    if not ref.get("name"):
        return [("spec.runtimeRef.name", "Required value")]
    if ref.get("kind") != "ClusterTrainingRuntime" or ref.get("apiGroup") != "trainer.kubeflow.org":
        out.append(("spec.runtimeRef", f"Unsupported value: unsupported runtime: {ref.get('kind')}."
                                       f"{ref.get('apiGroup')}"))
    elif store.get("clustertrainingruntimes", "", str(ref["name"])) is None:
        out.append(("spec.runtimeRef.name", f"Not found: not found ClusterTrainingRuntime specified in TrainJob: "
                                            f'clustertrainingruntimes.trainer.kubeflow.org "{ref["name"]}" not found'))
    trainer = spec.get("trainer") or {}
    reserved = sorted({str(e.get("name")) for e in trainer.get("env") or [] if e.get("name") in RESERVED})
    if reserved:
        out.append(("spec.trainer.env", f"Invalid value: must not have reserved envs, invalid envs configured: "
                                        f"{reserved}"))
    for key in ("numNodes", "numProcPerNode"):
        value = trainer.get(key)
        if value is not None and (not isinstance(value, int) or value < 1):
            out.append((f"spec.trainer.{key}", f"Invalid value: {value!r}: {key} must be greater than or equal to 1"))
    return out
