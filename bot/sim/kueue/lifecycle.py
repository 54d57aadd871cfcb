"""Workload transitions, worded as Kueue words them: admission, eviction (preemption, deactivation,
maximum execution time), requeueing, finishing; the Job follows (unsuspended on admission, suspended on
eviction); and the ClusterQueue/LocalQueue status counters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from bot.domain.cluster.objects import Obj
from bot.sim.clock import SimClock
from bot.sim.events import EventRecorder
from bot.sim.kueue.quota import Key, Snapshot
from bot.sim.kueue.workloads import JOB_UID_LABEL, MAIN, cond, fmt_quantity, is_true, requests_of, set_condition
from bot.sim.store import Store

COMPONENT = "kueue-admission"
DEACTIVATED = "The workload is deactivated"
MAX_EXEC = "DeactivatedDueToMaximumExecutionTimeExceeded"


def _ts(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").timestamp()


def usage_for(wl: Obj, flavors: dict[str, str]) -> dict[Key, Decimal]:
    return {(flavors[r], r): v for r, v in requests_of(wl).items() if r in flavors}


def _mutate(store: Store, wl: Obj, change: Callable[[Obj], None]) -> Obj | None:
    return store.mutate("workloads", wl["metadata"]["namespace"], wl["metadata"]["name"], change)


def admit(store: Store, events: EventRecorder, wl: Obj, cq: str, flavors: dict[str, str], now: str) -> Obj | None:
    usage = {r: fmt_quantity(v) for r, v in sorted(requests_of(wl).items())}

    def change(w: Obj) -> None:
        w["status"]["admission"] = {"clusterQueue": cq, "podSetAssignments": [
            {"name": MAIN, "flavors": dict(sorted(flavors.items())), "resourceUsage": usage,
             "count": int(w["spec"]["podSets"][0].get("count", 1))}]}
        set_condition(w, "QuotaReserved", "True", "QuotaReserved", f"Quota reserved in ClusterQueue {cq}", now)
        set_condition(w, "Admitted", "True", "Admitted", "The workload is admitted", now)
        for kind in ("Evicted", "Preempted"):
            if cond(w, kind) is not None:
                set_condition(w, kind, "False", "QuotaReserved", f"Previously: {(cond(w, kind) or {})['message']}",
                              now)
        if is_true(w, "Requeued"):
            set_condition(w, "Requeued", "False", "QuotaReserved", "", now)

    out = _mutate(store, wl, change)
    if out is not None:
        events.record(out, "Normal", "QuotaReserved", f"Quota reserved in ClusterQueue {cq}, wait time since "
                      f"queued was {max(0, int(_ts(now) - _ts(wl['metadata']['creationTimestamp'])))}s", COMPONENT)
        events.record(out, "Normal", "Admitted", f"Admitted by ClusterQueue {cq}", COMPONENT)
    return out


def preempt(store: Store, events: EventRecorder, target: Obj, preemptor: Obj, reason: str, why: str,
            preemptor_path: str, preemptee_path: str, now: str) -> None:
    job_uid = (preemptor["metadata"].get("labels") or {}).get(JOB_UID_LABEL, "UNKNOWN")
    message = (f"Preempted to accommodate a workload (UID: {preemptor['metadata']['uid']}, JobUID: {job_uid}) "
               f"due to {why}; preemptor path: {preemptor_path}; preemptee path: {preemptee_path}")

    def change(w: Obj) -> None:
        if not is_true(w, "Evicted"):
            set_condition(w, "Evicted", "True", "Preempted", message, now)
            set_condition(w, "Preempted", "True", reason, message, now)

    out = _mutate(store, target, change)
    if out is not None:
        events.record(out, "Normal", "Preempted", message, COMPONENT)


def _evict(wl: Obj, reason: str, message: str, now: str) -> None:
    if not is_true(wl, "Evicted"):
        set_condition(wl, "Evicted", "True", reason, message, now)


def sync(store: Store, events: EventRecorder, clock: SimClock, wl: Obj, job: Obj, now: str) -> None:
    """One Workload against its Job, as Kueue's job reconciler and workload controller do."""
    ns, jname = job["metadata"]["namespace"], job["metadata"]["name"]
    jconds = {c.get("type"): c for c in (job.get("status") or {}).get("conditions") or [] if c.get("status") == "True"}
    if is_true(wl, "Finished"):
        return
    if "Complete" in jconds or "Failed" in jconds:
        done = jconds.get("Failed")
        reason, message = ("Failed", str(done.get("message") or "")) if done else \
            ("Succeeded", "Job finished successfully")
        _mutate(store, wl, lambda w: set_condition(w, "Finished", "True", reason, message, now))
        return
    spec = wl.get("spec") or {}
    reserved = cond(wl, "QuotaReserved")
    limit = spec.get("maximumExecutionTimeSeconds")
    if is_true(wl, "Admitted") and limit and reserved is not None and \
            clock.now() - _ts(str(reserved["lastTransitionTime"])) >= int(limit):
        def expire(w: Obj) -> None:
            w["spec"]["active"] = False
            _evict(w, MAX_EXEC, f"{DEACTIVATED} due to exceeding the maximum execution time", now)
        wl = _mutate(store, wl, expire) or wl
    elif spec.get("active") is False and is_true(wl, "QuotaReserved"):
        wl = _mutate(store, wl, lambda w: _evict(w, "Deactivated", DEACTIVATED, now)) or wl
    elif spec.get("active") is not False and not is_true(wl, "QuotaReserved") and \
            str((cond(wl, "Evicted") or {}).get("reason", "")).startswith("Deactivated") and is_true(wl, "Evicted"):
        def reactivate(w: Obj) -> None:
            set_condition(w, "Evicted", "False", "Reactivated", "The workload was reactivated", now)
            set_condition(w, "Requeued", "True", "Reactivated", "The workload was reactivated", now)
        wl = _mutate(store, wl, reactivate) or wl
    if is_true(wl, "Evicted") and is_true(wl, "QuotaReserved"):
        evicted = cond(wl, "Evicted") or {}
        if not (job.get("spec") or {}).get("suspend"):
            store.mutate("jobs", ns, jname, lambda j: _stop_job(j, wl))
            events.record(job, "Normal", "Stopped", str(evicted.get("message", "")), "kueue-job-controller")
        elif int((job.get("status") or {}).get("active") or 0) == 0:
            _mutate(store, wl, lambda w: _release(w, evicted, now))
        return
    if is_true(wl, "Admitted") and (job.get("spec") or {}).get("suspend") and not is_true(wl, "Evicted"):
        flavors = wl["status"]["admission"]["podSetAssignments"][0].get("flavors") or {}
        labels: dict[str, str] = {}
        for fl in sorted(set(flavors.values())):
            labels.update(((store.get("resourceflavors", "", fl) or {}).get("spec") or {}).get("nodeLabels") or {})
        store.mutate("jobs", ns, jname, lambda j: _start_job(j, labels))
        events.record(job, "Normal", "Started", f"Admitted by clusterQueue "
                      f"{wl['status']['admission']['clusterQueue']}", "kueue-job-controller")


def _release(w: Obj, evicted: Obj, now: str) -> None:
    """The Job stopped: the quota goes back and the Workload waits again (requeued when preempted)."""
    reason, message = str(evicted.get("reason", "")), str(evicted.get("message", ""))
    w["status"].pop("admission", None)
    set_condition(w, "QuotaReserved", "False", "Pending", message, now)
    set_condition(w, "Admitted", "False", "NoReservation", "The workload has no reservation", now)
    set_condition(w, "Requeued", "True" if reason == "Preempted" else "False", reason, message, now)


def _start_job(job: Obj, node_labels: dict[str, str]) -> None:
    """Unsuspend, with the admitted flavor's node labels merged into the pod template (as Kueue injects)."""
    job["spec"]["suspend"] = False
    if node_labels:
        tpl_spec = job["spec"]["template"].setdefault("spec", {})
        tpl_spec["nodeSelector"] = {**(tpl_spec.get("nodeSelector") or {}), **node_labels}


def _stop_job(job: Obj, wl: Obj) -> None:
    job["spec"]["suspend"] = True


def queue_status(store: Store, cqs: list[Obj], lqs: dict[tuple[str, str], Obj], snap: Snapshot,
                 pending: dict[str, list[Obj]], fmt: Callable[[Decimal], str]) -> None:
    """ClusterQueue and LocalQueue counters (``kubectl get clusterqueues`` shows them)."""
    for c in cqs:
        name = c["metadata"]["name"]
        q = snap.queues[name]
        usage: dict[str, list[Obj]] = {}
        for (fl, res), v in sorted(q.usage.items()):
            usage.setdefault(fl, []).append({"name": res, "total": fmt(v)})
        status = {"pendingWorkloads": len(pending.get(name, [])), "reservingWorkloads": len(q.admitted),
                  "admittedWorkloads": len(q.admitted),
                  "flavorsUsage": [{"name": fl, "resources": rs} for fl, rs in usage.items()],
                  "conditions": [{"type": "Active", "status": "True", "reason": "Ready",
                                  "message": "Can admit new workloads",
                                  "lastTransitionTime": c["metadata"].get("creationTimestamp", "")}]}
        _set_status(store, "clusterqueues", "", name, status)
    for (ns, name), lq in lqs.items():
        cq = str((lq.get("spec") or {}).get("clusterQueue", ""))
        waiting = sum(1 for w in pending.get(cq, []) if w["metadata"]["namespace"] == ns
                      and w["spec"].get("queueName") == name)
        running = sum(1 for a in (snap.queues[cq].admitted if cq in snap.queues else [])
                      if a.wl["metadata"]["namespace"] == ns and a.wl["spec"].get("queueName") == name)
        lq_status = {"pendingWorkloads": waiting, "reservingWorkloads": running, "admittedWorkloads": running}
        _set_status(store, "localqueues", ns, name, lq_status)


def _set_status(store: Store, kind: str, namespace: str, name: str, status: Obj) -> None:
    def change(obj: Obj) -> None:
        obj["status"] = {**(obj.get("status") or {}), **status}

    store.mutate(kind, namespace, name, change)
