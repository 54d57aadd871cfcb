"""The batch/v1 Job controller: pods for a Job, its status counts and its terminal conditions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.domain.cluster.objects import Obj
from bot.sim.clock import SimClock
from bot.sim.events import EventRecorder
from bot.sim.kubelet import Kubelet
from bot.sim.pod_status import gpus_of
from bot.sim.scheduler import Gang, PodReq, Scheduler
from bot.sim.store import Store, clone
from bot.sim.validation import rand_suffix

INDEX = "batch.kubernetes.io/job-completion-index"
TERMINAL = ("Succeeded", "Failed")


@dataclass(slots=True)
class JobState:
    """What the real controller tracks through pod finalizers: pods already counted, by uid."""

    failed: set[str] = field(default_factory=set)
    succeeded: dict[str, int] = field(default_factory=dict)  # pod uid → completion index
    start: float | None = None
    pods: set[str] = field(default_factory=set)  # names of the pods this job owns
    deadline: float | None = None  # the activeDeadlineSeconds its timer was set for (it may be patched)


def _has(conditions: list[Obj], kind: str) -> bool:
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


class JobController:
    def __init__(
        self,
        store: Store,
        clock: SimClock,
        events: EventRecorder,
        scheduler: Scheduler,
        kubelet: Kubelet,
        timer: Callable[[float, str, str, str, str], None],
    ) -> None:
        self.store = store
        self.clock = clock
        self.events = events
        self.scheduler = scheduler
        self.kubelet = kubelet
        self.timer = timer
        self.state: dict[str, JobState] = {}  # job uid → state

    def reconcile(self, namespace: str, name: str) -> None:
        job = self.store.get("jobs", namespace, name)
        if job is None:
            return
        spec, status = job["spec"], job.get("status") or {}
        uid = job["metadata"]["uid"]
        conditions: list[Obj] = list(status.get("conditions") or [])
        if _has(conditions, "Complete") or _has(conditions, "Failed"):
            return
        st = self.state.setdefault(uid, JobState())
        pods = [p for n in sorted(st.pods) if (p := self.store.get("pods", namespace, n)) is not None]
        st.pods = {p["metadata"]["name"] for p in pods}
        active = [p for p in pods if p.get("status", {}).get("phase") not in TERMINAL]
        for p in pods:
            phase, puid = p.get("status", {}).get("phase"), p["metadata"]["uid"]
            if phase == "Failed":
                st.failed.add(puid)
            elif phase == "Succeeded":
                labels = p["metadata"].get("labels") or {}
                st.succeeded[puid] = int(labels.get(INDEX, len(st.succeeded)))
        now, iso = self.clock.now(), self.clock.iso()
        new_status: Obj = {k: v for k, v in status.items() if k not in ("active", "ready", "terminating")}
        if spec.get("suspend"):
            self._kill_all(active)
            active = []
            if not _has(conditions, "Suspended"):
                conditions = self._set(conditions, "Suspended", "True", "JobSuspended", "Job suspended", iso)
                self.events.record(job, "Normal", "Suspended", "Job suspended", "job-controller")
            new_status.pop("startTime", None)
            st.start = None
            st.deadline = None  # a resumed Job's deadline counts from the resume, as in Kubernetes
        else:
            if _has(conditions, "Suspended"):
                conditions = self._set(conditions, "Suspended", "False", "JobResumed", "Job resumed", iso)
                self.events.record(job, "Normal", "Resumed", "Job resumed", "job-controller")
            if st.start is None:
                st.start = now
                new_status["startTime"] = iso
            deadline = spec.get("activeDeadlineSeconds")
            if deadline and float(deadline) != st.deadline:  # set at start, or patched since
                st.deadline = float(deadline)
                self.timer(st.start + float(deadline), "deadline", namespace, name, uid)
            conditions, active = self._advance(job, st, conditions, active, new_status, now, iso)
        new_status.update(
            {
                "active": len(active),
                "failed": len(st.failed),
                "succeeded": len(st.succeeded),
                "ready": sum(1 for p in active if p.get("status", {}).get("phase") == "Running"),
                "terminating": 0,
                "uncountedTerminatedPods": {},
            }
        )
        if conditions:
            new_status["conditions"] = conditions
        if spec.get("completionMode") == "Indexed":
            done = sorted(set(st.succeeded.values()))
            new_status["completedIndexes"] = ",".join(map(str, done))
        if new_status != status:
            self.store.mutate("jobs", namespace, name, lambda j: j.__setitem__("status", new_status))

    def _advance(
        self,
        job: Obj,
        st: JobState,
        conditions: list[Obj],
        active: list[Obj],
        new_status: Obj,
        now: float,
        iso: str,
    ) -> tuple[list[Obj], list[Obj]]:
        spec = job["spec"]
        deadline = spec.get("activeDeadlineSeconds")
        finish: tuple[str, str] | None = None
        if deadline and st.start is not None and now >= st.start + float(deadline):
            finish = ("DeadlineExceeded", "Job was active longer than specified deadline")
        elif len(st.failed) > int(spec.get("backoffLimit", 6)):
            finish = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
        if finish is not None:
            self._kill_all(active)
            conditions = self._set(conditions, "FailureTarget", "True", finish[0], finish[1], iso)
            conditions = self._set(conditions, "Failed", "True", finish[0], finish[1], iso)
            self.events.record(job, "Warning", finish[0], finish[1], "job-controller")
            return conditions, []
        completions = int(spec.get("completions") or 1)
        if len(set(st.succeeded.values())) >= completions:
            msg = "Reached expected number of succeeded pods"
            conditions = self._set(conditions, "SuccessCriteriaMet", "True", "CompletionsReached", msg, iso)
            conditions = self._set(conditions, "Complete", "True", "CompletionsReached", msg, iso)
            new_status["completionTime"] = iso
            self.events.record(job, "Normal", "Completed", "Job completed", "job-controller")
            return conditions, active
        wanted = min(int(spec.get("parallelism", 1)), completions - len(st.succeeded)) - len(active)
        if wanted > 0:
            active = active + self._create_pods(job, st, active, wanted)
        return conditions, active

    def _create_pods(self, job: Obj, st: JobState, active: list[Obj], count: int) -> list[Obj]:
        meta, spec = job["metadata"], job["spec"]
        indexed = spec.get("completionMode") == "Indexed"
        taken = set(st.succeeded.values()) | {
            int((p["metadata"].get("labels") or {}).get(INDEX, -1)) for p in active
        }
        indices = [i for i in range(int(spec.get("completions") or 1)) if i not in taken][:count]
        if not indexed:
            indices = [0] * count
        created: list[Obj] = []
        for index in indices:
            pod = self._pod_for(job, index if indexed else None)
            self.store.create("pods", pod)
            st.pods.add(pod["metadata"]["name"])
            created.append(pod)
            self.events.record(
                job, "Normal", "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}", "job-controller"
            )
        reqs = [
            PodReq(
                (meta["namespace"], p["metadata"]["name"]),
                gpus_of(p),
                tuple(sorted((p["spec"].get("nodeSelector") or {}).items())),
            )
            for p in created
        ]
        self.scheduler.add_gang(Gang(f"{meta['uid']}/{created[0]['metadata']['name']}", reqs))
        return created

    def _pod_for(self, job: Obj, index: int | None) -> Obj:
        meta = job["metadata"]
        template = clone(job["spec"]["template"])
        tmeta = template.get("metadata") or {}
        labels = dict(tmeta.get("labels") or {})
        annotations = dict(tmeta.get("annotations") or {})
        pod_spec = template["spec"]
        name = f"{meta['name']}-{rand_suffix()}"
        if index is not None:
            name = f"{meta['name']}-{index}-{rand_suffix()}"
            labels[INDEX] = annotations[INDEX] = str(index)
            for c in pod_spec.get("containers") or []:
                c["env"] = [*(c.get("env") or []), {"name": "JOB_COMPLETION_INDEX", "value": str(index)}]
            if pod_spec.get("subdomain"):
                pod_spec["hostname"] = f"{meta['name']}-{index}"
        owner = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": meta["name"],
            "uid": meta["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
        return {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "labels": labels,
                "annotations": annotations,
                "ownerReferences": [owner],
            },
            "spec": pod_spec,
            "status": {"phase": "Pending", "qosClass": "BestEffort"},
        }

    def _kill_all(self, pods: list[Obj]) -> None:
        for p in pods:
            self.scheduler.forget((p["metadata"]["namespace"], p["metadata"]["name"]))
            self.kubelet.kill(p)

    @staticmethod
    def _set(conditions: list[Obj], kind: str, value: str, reason: str, message: str, iso: str) -> list[Obj]:
        out = [c for c in conditions if c.get("type") != kind]
        out.append(
            {
                "type": kind,
                "status": value,
                "reason": reason,
                "message": message,
                "lastProbeTime": iso,
                "lastTransitionTime": iso,
            }
        )
        return out
