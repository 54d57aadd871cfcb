"""The JobSet controller (``pkg/controllers/jobset_controller.go``), reduced to what a training job needs.

Per replicated job it creates ``replicas`` child Jobs named ``<jobset>-<rjob>-<jobIndex>`` with JobSet's
labels on the Job and its pod template, and, with ``network.enableDNSHostnames``, a headless Service named
after the subdomain so pods resolve as ``<jobset>-<rjob>-<jobIndex>-<podIndex>.<subdomain>``. A failed
child Job restarts the whole set (its Jobs deleted and recreated with ``restart-attempt`` + 1) until
``failurePolicy.maxRestarts``; then the JobSet fails. All Jobs complete (successPolicy ``All``): Completed.
Conditions, reasons and messages are JobSet's (``pkg/constants``).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.cluster.objects import Obj
from bot.sim import gc
from bot.sim.events import EventRecorder
from bot.sim.selectors import make_matcher
from bot.sim.status import RESOURCES
from bot.sim.store import Store, clone
from bot.sim.validation import prepare_create

NAME = "jobset.sigs.k8s.io/jobset-name"
UID = "jobset.sigs.k8s.io/jobset-uid"
RJOB = "jobset.sigs.k8s.io/replicatedjob-name"
REPLICAS = "jobset.sigs.k8s.io/replicatedjob-replicas"
INDEX = "jobset.sigs.k8s.io/job-index"
GLOBAL_INDEX = "jobset.sigs.k8s.io/job-global-index"
RESTARTS = "jobset.sigs.k8s.io/restart-attempt"
COMPONENT = "jobset-controller"


def _true(obj: Obj, kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True"
               for c in (obj.get("status") or {}).get("conditions") or [])


def set_condition(conditions: list[Obj], kind: str, value: str, reason: str, message: str, iso: str) -> list[Obj]:
    """metav1.Condition semantics: lastTransitionTime moves only when the status changes."""
    old = next((c for c in conditions if c.get("type") == kind), None)
    if old is not None and old.get("status") == value and old.get("reason") == reason:
        return conditions
    when = old["lastTransitionTime"] if old is not None and old.get("status") == value else iso
    new = {"type": kind, "status": value, "reason": reason, "message": message, "lastTransitionTime": when}
    return [*(c for c in conditions if c.get("type") != kind), new]


def subdomain(js: Obj) -> str:
    return str((js["spec"].get("network") or {}).get("subdomain") or js["metadata"]["name"])


class JobSetController:
    def __init__(self, store: Store, events: EventRecorder, iso: Callable[[], str]) -> None:
        self.store = store
        self.events = events
        self._now = iso  # the simulated clock's time, ISO 8601

    def _children(self, js: Obj) -> list[Obj]:
        ns, uid = js["metadata"]["namespace"], js["metadata"]["uid"]
        _rv, entries = self.store.list("jobs", ns, make_matcher("jobs", f"{NAME}={js['metadata']['name']}", None))
        return [e.obj for e in entries
                if any(o.get("uid") == uid for o in e.obj["metadata"].get("ownerReferences") or [])]

    def reconcile(self, namespace: str, name: str) -> None:
        js = self.store.get("jobsets", namespace, name)
        if js is None or js["metadata"].get("deletionTimestamp"):
            return
        status: Obj = clone(js.get("status") or {})
        status.setdefault("restarts", 0)
        conditions: list[Obj] = list(status.get("conditions") or [])
        finished = _true(js, "Completed") or _true(js, "Failed")
        attempt = int(status["restarts"])
        children = self._children(js)
        current = [j for j in children if j["metadata"]["labels"].get(RESTARTS) == str(attempt)]
        for old in children:  # Jobs of an earlier attempt go, with their pods
            if old not in current:
                self._delete_job(old)
        spec, iso = js["spec"], self._now()
        failed = [j for j in current if _true(j, "Failed")]
        rjobs = spec.get("replicatedJobs") or []
        wanted = sum(int(r.get("replicas", 1)) for r in rjobs)
        if not finished and failed:
            max_restarts = int((spec.get("failurePolicy") or {}).get("maxRestarts", 0))
            if attempt < max_restarts:
                status["restarts"] = attempt + 1
                status["restartsCountTowardsMax"] = int(status.get("restartsCountTowardsMax", 0)) + 1
                for j in current:
                    self._delete_job(j)
                current = []
                self.events.record(js, "Warning", "Restarting",
                                   f"restarting jobset, attempt {attempt + 1}", COMPONENT)
            else:
                reason, message = (("ReachedMaxRestarts", "jobset failed due to reaching max number of restarts")
                                   if spec.get("failurePolicy") else
                                   ("FailedJobs", "jobset failed due to one or more job failures"))
                conditions = set_condition(conditions, "Failed", "True", reason, message, iso)
                status["terminalState"] = "Failed"
                self.events.record(js, "Warning", reason, message, COMPONENT)
                finished = True
        elif not finished and wanted and sum(1 for j in current if _true(j, "Complete")) >= wanted:
            conditions = set_condition(conditions, "Completed", "True", "AllJobsCompleted",
                                       "jobset completed successfully", iso)
            status["terminalState"] = "Completed"
            self.events.record(js, "Normal", "AllJobsCompleted", "jobset completed successfully", COMPONENT)
            finished = True
        if finished:
            for j in current:  # a finished JobSet keeps no Job running
                if not (_true(j, "Complete") or _true(j, "Failed")):
                    self._delete_job(j)
        else:
            conditions = self._suspend(js, current, conditions, iso)
            self._ensure_service(js)
            self._create_missing(js, current, int(status["restarts"]))
        status["conditions"] = conditions
        status["replicatedJobsStatus"] = [self._rjob_status(r, current) for r in rjobs]
        if status != (js.get("status") or {}):
            self.store.mutate("jobsets", namespace, name, lambda o: o.__setitem__("status", status))

    def _suspend(self, js: Obj, jobs: list[Obj], conditions: list[Obj], iso: str) -> list[Obj]:
        suspend = bool(js["spec"].get("suspend"))
        for j in jobs:
            if bool(j["spec"].get("suspend")) != suspend:
                self.store.mutate("jobs", j["metadata"]["namespace"], j["metadata"]["name"],
                                  lambda o: o["spec"].__setitem__("suspend", suspend))
        if suspend:
            return set_condition(conditions, "Suspended", "True", "SuspendedJobs", "jobset is suspended", iso)
        if any(c.get("type") == "Suspended" for c in conditions):
            return set_condition(conditions, "Suspended", "False", "ResumeJobs", "jobset is resumed", iso)
        return conditions

    def _ensure_service(self, js: Obj) -> None:
        network = js["spec"].get("network") or {}
        ns, name = js["metadata"]["namespace"], subdomain(js)
        if not network.get("enableDNSHostnames") or self.store.get("services", ns, name) is not None:
            return
        svc: Obj = {
            "kind": "Service", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": ns, "ownerReferences": [self._owner(js)]},
            "spec": {"clusterIP": "None", "selector": {NAME: js["metadata"]["name"]},
                     "publishNotReadyAddresses": bool(network.get("publishNotReadyAddresses", True))},
        }
        self.store.create("services", prepare_create(RESOURCES["services"], svc, ns))

    def _create_missing(self, js: Obj, current: list[Obj], attempt: int) -> None:
        have = {j["metadata"]["name"] for j in current}
        rjobs = js["spec"].get("replicatedJobs") or []
        in_order = (js["spec"].get("startupPolicy") or {}).get("startupPolicyOrder") == "InOrder"
        global_index = 0
        for rjob in rjobs:
            replicas = int(rjob.get("replicas", 1))
            for i in range(replicas):
                job_name = f"{js['metadata']['name']}-{rjob['name']}-{i}"
                if job_name not in have:
                    self._create_job(js, rjob, i, global_index, attempt, job_name)
                global_index += 1
            if in_order and not self._all_ready(js, rjob):
                return  # InOrder: the next replicated job starts once this one's Jobs are ready

    def _all_ready(self, js: Obj, rjob: Obj) -> bool:
        st = self._rjob_status(rjob, self._children(js))
        return int(st["ready"]) + int(st["succeeded"]) >= int(rjob.get("replicas", 1))

    def _create_job(self, js: Obj, rjob: Obj, index: int, global_index: int, attempt: int, job_name: str) -> None:
        meta, ns = js["metadata"], js["metadata"]["namespace"]
        template = clone(rjob.get("template") or {})
        tmeta = template.get("metadata") or {}
        labels = {
            NAME: meta["name"], UID: meta["uid"], RJOB: rjob["name"], REPLICAS: str(rjob.get("replicas", 1)),
            INDEX: str(index), GLOBAL_INDEX: str(global_index), RESTARTS: str(attempt),
        }
        job_spec = template.get("spec") or {}
        pod_template = job_spec.setdefault("template", {})
        pmeta = pod_template.setdefault("metadata", {})
        pmeta["labels"] = {**(pmeta.get("labels") or {}), **labels}
        pmeta["annotations"] = {**(pmeta.get("annotations") or {}), **labels}
        if (js["spec"].get("network") or {}).get("enableDNSHostnames"):
            pod_template.setdefault("spec", {})["subdomain"] = subdomain(js)
        job_spec["suspend"] = bool(js["spec"].get("suspend"))
        job: Obj = {
            "kind": "Job", "apiVersion": "batch/v1",
            "metadata": {"name": job_name, "namespace": ns, "labels": {**(tmeta.get("labels") or {}), **labels},
                         "annotations": {**(tmeta.get("annotations") or {}), **labels},
                         "ownerReferences": [self._owner(js)]},
            "spec": job_spec,
        }
        self.store.create("jobs", prepare_create(RESOURCES["jobs"], job, ns))

    def _delete_job(self, job: Obj) -> None:
        ns, name = job["metadata"]["namespace"], job["metadata"]["name"]
        with self.store.lock:
            gc.cascade(self.store, ns, job["metadata"]["uid"])
            self.store.delete("jobs", ns, name)

    @staticmethod
    def _owner(js: Obj) -> Obj:
        return {"apiVersion": js["apiVersion"], "kind": "JobSet", "name": js["metadata"]["name"],
                "uid": js["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}

    @staticmethod
    def _rjob_status(rjob: Obj, jobs: list[Obj]) -> Obj:
        mine = [j for j in jobs if j["metadata"]["labels"].get(RJOB) == rjob["name"]]
        ready = succeeded = failed = active = suspended = 0
        for j in mine:
            st = j.get("status") or {}
            if _true(j, "Complete"):
                succeeded += 1
            elif _true(j, "Failed"):
                failed += 1
            elif j["spec"].get("suspend"):
                suspended += 1
            else:
                active += 1
                if int(st.get("ready", 0)) + int(st.get("succeeded", 0)) >= int(j["spec"].get("parallelism", 1)):
                    ready += 1
        return {"name": rjob["name"], "ready": ready, "succeeded": succeeded, "failed": failed,
                "active": active, "suspended": suspended}
