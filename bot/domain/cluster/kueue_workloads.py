"""Reading Kueue Workloads: which bot job a Workload belongs to, and where Kueue has it (pure).

Condition types and reasons are Kueue's (v1beta2): QuotaReserved, Admitted, Evicted (Preempted,
Deactivated, DeactivatedDueToMaximumExecutionTimeExceeded, ...), Preempted (InClusterQueue,
InCohortReclamation, ...), Requeued, Finished.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

WorkloadState = Literal["pending", "admitted", "evicted", "inactive", "finished"]
_PATH = re.compile(r"preemptor path: (?P<path>\S+?);")
_SHORT = re.compile(r"insufficient unused quota for (?P<res>\S+) in flavor (?P<flavor>\S+), (?P<n>\S+) more needed")


@dataclass(frozen=True)
class WorkloadView:
    namespace: str
    job: str  # the owner Job's name
    name: str
    state: WorkloadState
    reason: str  # Kueue's reason on the condition that decides the state
    message: str  # Kueue's message there
    cluster_queue: str | None = None
    preempted_in: str | None = None  # Preempted condition reason: InClusterQueue, InCohortReclamation...
    preemptor_queue: str | None = None  # the ClusterQueue of the workload that preempted this one

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.job}"


def _cond(wl: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for c in (wl.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            return dict(c)
    return None


def _true(wl: dict[str, Any], kind: str) -> dict[str, Any] | None:
    c = _cond(wl, kind)
    return c if c is not None and c.get("status") == "True" else None


def read_workload(wl: dict[str, Any]) -> WorkloadView | None:
    """The view of one Workload owned by a Job; None for any other owner."""
    meta = wl.get("metadata") or {}
    owner = next((o for o in meta.get("ownerReferences") or [] if o.get("kind") == "Job"), None)
    if owner is None:
        return None
    base = dict(namespace=str(meta.get("namespace", "")), job=str(owner.get("name", "")), name=str(meta.get("name")))
    admission = (wl.get("status") or {}).get("admission") or {}
    cq = admission.get("clusterQueue")
    if (done := _true(wl, "Finished")) is not None:
        return WorkloadView(**base, state="finished", reason=str(done.get("reason")), message=str(done.get("message")))
    evicted = _true(wl, "Evicted")
    preempted = _true(wl, "Preempted")
    pre_in = str(preempted.get("reason")) if preempted else None
    path = _PATH.search(str((preempted or {}).get("message", "")))
    by = path["path"].rsplit("/", 1)[-1] if path else None
    if evicted is not None and (wl.get("spec") or {}).get("active") is False:
        return WorkloadView(**base, state="inactive", reason=str(evicted.get("reason")),
                            message=str(evicted.get("message")), cluster_queue=cq)
    if evicted is not None and cq:
        return WorkloadView(**base, state="evicted", reason=str(evicted.get("reason")),
                            message=str(evicted.get("message")), cluster_queue=cq, preempted_in=pre_in,
                            preemptor_queue=by)
    if (adm := _true(wl, "Admitted")) is not None:
        return WorkloadView(**base, state="admitted", reason=str(adm.get("reason")), message=str(adm.get("message")),
                            cluster_queue=cq)
    reserved = _cond(wl, "QuotaReserved") or {}
    requeued = _true(wl, "Requeued")
    return WorkloadView(**base, state="pending", reason=str(reserved.get("reason", "Pending")),
                        message=str(reserved.get("message", "")), preempted_in=pre_in if requeued else None,
                        preemptor_queue=by if requeued else None)


def quota_shortfall(message: str) -> list[tuple[str, str, str]]:
    """``(resource, flavor, amount)`` for each "insufficient unused quota" clause of a Kueue message."""
    return [(m["res"], m["flavor"], m["n"]) for m in _SHORT.finditer(message)]
