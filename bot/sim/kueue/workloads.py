"""The Job integration: a suspended Job with a queue label gets a Workload, as Kueue's job reconciler does.

Also the condition helpers every part uses, so reasons and messages have one spelling.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

from bot.domain.cluster.objects import Obj
from bot.domain.resources import quantity_value
from bot.sim.status import KUEUE_VERSION

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
PRIORITY_LABEL = "kueue.x-k8s.io/priority-class"
MAX_EXEC_LABEL = "kueue.x-k8s.io/max-exec-time-seconds"
JOB_UID_LABEL = "kueue.x-k8s.io/job-uid"
MAIN = "main"  # the one PodSet of a batch/v1 Job


def workload_name(job: Obj) -> str:
    """``job-<name>-<5 hex>``: Kueue's shape (kind prefix, owner name, a hash of the owner's identity)."""
    meta = job["metadata"]
    digest = hashlib.sha1(f"{meta['name']}/{meta['uid']}/batch/Job".encode()).hexdigest()[:5]
    return f"job-{meta['name'][:240]}-{digest}"


def pod_requests(template: Obj) -> dict[str, Decimal]:
    """Per-pod requests: each container's requests, its limits where a request is missing (as defaulting)."""
    total: dict[str, Decimal] = {}
    for c in (template.get("spec") or {}).get("containers") or []:
        res = c.get("resources") or {}
        merged = {**(res.get("limits") or {}), **(res.get("requests") or {})}
        for name, value in merged.items():
            total[name] = total.get(name, Decimal(0)) + quantity_value(str(value))
    return total


def fmt_quantity(amount: Decimal) -> str:
    """A quantity string as the apiserver prints it: ``8``, ``500m``, ``64Gi``."""
    if amount == amount.to_integral_value():
        whole = int(amount)
        for suffix, size in (("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
            if whole >= size and whole % size == 0:
                return f"{whole // size}{suffix}"
        return str(whole)
    return f"{int(amount * 1000)}m"


def count_of(job: Obj) -> int:
    spec = job.get("spec") or {}
    parallelism = int(spec.get("parallelism", 1))
    completions = spec.get("completions")
    return min(parallelism, int(completions)) if completions is not None else parallelism


def build_workload(job: Obj, priority: int | None, now: str) -> Obj:
    """The Workload Kueue creates for ``job``: owner reference, job-uid label, one PodSet, priority."""
    meta = job["metadata"]
    labels = meta.get("labels") or {}
    count = count_of(job)
    spec: Obj = {
        "active": True,
        "queueName": labels[QUEUE_LABEL],
        "podSets": [{"name": MAIN, "count": count, "template": job["spec"]["template"]}],
    }
    if labels.get(PRIORITY_LABEL) and priority is not None:
        spec["priorityClassRef"] = {"group": "kueue.x-k8s.io", "kind": "WorkloadPriorityClass",
                                    "name": labels[PRIORITY_LABEL]}
        spec["priority"] = priority
    if str(labels.get(MAX_EXEC_LABEL, "")).isdigit():
        spec["maximumExecutionTimeSeconds"] = int(labels[MAX_EXEC_LABEL])
    per_pod = pod_requests(job["spec"]["template"])
    requests = {k: fmt_quantity(v * count) for k, v in sorted(per_pod.items())}
    wl_labels = {JOB_UID_LABEL: meta["uid"]}
    if labels.get(PRIORITY_LABEL):
        wl_labels[PRIORITY_LABEL] = labels[PRIORITY_LABEL]
    return {
        "apiVersion": KUEUE_VERSION,
        "kind": "Workload",
        "metadata": {
            "name": workload_name(job),
            "namespace": meta["namespace"],
            "labels": wl_labels,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": meta["name"], "uid": meta["uid"],
                                 "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": spec,
        "status": {"resourceRequests": [{"name": MAIN, "resources": requests}],
                   "conditions": [condition("QuotaReserved", "False", "Pending", "", now)]},
    }


def condition(kind: str, status: str, reason: str, message: str, now: str, generation: int = 1) -> Obj:
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": now, "observedGeneration": generation}


def set_condition(wl: Obj, kind: str, status: str, reason: str, message: str, now: str) -> None:
    """metav1 SetStatusCondition: the transition time moves only when the status changes."""
    conds: list[Obj] = wl.setdefault("status", {}).setdefault("conditions", [])
    gen = int(wl["metadata"].get("generation", 1))
    for c in conds:
        if c["type"] == kind:
            if c["status"] != status:
                c["lastTransitionTime"] = now
            c.update(status=status, reason=reason, message=message, observedGeneration=gen)
            return
    conds.append(condition(kind, status, reason, message, now, gen))


def cond(wl: Obj, kind: str) -> Obj | None:
    return next((c for c in (wl.get("status") or {}).get("conditions") or [] if c.get("type") == kind), None)


def is_true(wl: Obj, kind: str) -> bool:
    c = cond(wl, kind)
    return c is not None and c.get("status") == "True"


def requests_of(wl: Obj) -> dict[str, Decimal]:
    """Total requests of the Workload's main PodSet."""
    for rr in (wl.get("status") or {}).get("resourceRequests") or []:
        return {k: quantity_value(str(v)) for k, v in (rr.get("resources") or {}).items()}
    return {}


def usage_of(wl: Obj) -> dict[tuple[str, str], Decimal]:
    """(flavor, resource) → amount the admitted Workload holds."""
    out: dict[tuple[str, str], Decimal] = {}
    for psa in ((wl.get("status") or {}).get("admission") or {}).get("podSetAssignments") or []:
        flavors: dict[str, Any] = psa.get("flavors") or {}
        for res, amount in (psa.get("resourceUsage") or {}).items():
            if res in flavors:
                key = (str(flavors[res]), res)
                out[key] = out.get(key, Decimal(0)) + quantity_value(str(amount))
    return out
