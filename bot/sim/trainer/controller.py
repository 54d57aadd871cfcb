"""The TrainJob controller (``pkg/controller/trainjob_controller.go`` with the jobset and torch plugins).

A TrainJob gets one JobSet of its name, built from its ClusterTrainingRuntime (``runtime.jobset_for``),
owned by it. Its conditions follow the JobSet's as Trainer's jobset plugin copies them (``Completed`` →
``Complete``, ``Failed`` → ``Failed``, reason and message kept), plus ``Suspended``/``Resumed`` and the
``DeadlineExceeded`` failure of ``activeDeadlineSeconds``. ``status.jobsStatus`` mirrors the JobSet's
replicated jobs. ``status.trainerStatus`` is what the training process reports to Trainer's status server;
here the pods' simulated run time stands in for it (progress = time run / ``SIM_DURATION``).
"""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.cluster.objects import Obj
from bot.sim import gc
from bot.sim.clock import SimClock
from bot.sim.events import EventRecorder
from bot.sim.jobset import admission as jobset_admission
from bot.sim.jobset.controller import set_condition
from bot.sim.kubelet import Kubelet
from bot.sim.selectors import make_matcher
from bot.sim.store import Store, clone
from bot.sim.trainer.runtime import jobset_for

COMPONENT = "trainjob-controller"
PROGRESS_EVERY_S = 30.0  # simulated seconds between two progress reports of a running TrainJob
Timer = Callable[[float, str, str, str, str], None]


def _cond(obj: Obj | None, kind: str) -> Obj | None:
    return next((c for c in ((obj or {}).get("status") or {}).get("conditions") or []
                 if c.get("type") == kind and c.get("status") == "True"), None)


class TrainJobController:
    def __init__(self, store: Store, clock: SimClock, events: EventRecorder, kubelet: Kubelet, timer: Timer) -> None:
        self.store = store
        self.clock = clock
        self.events = events
        self.kubelet = kubelet
        self.timer = timer
        self._started: dict[str, float] = {}  # TrainJob uid → simulated time it started

    def reconcile(self, namespace: str, name: str) -> None:
        tj = self.store.get("trainjobs", namespace, name)
        if tj is None:
            return
        uid, spec = tj["metadata"]["uid"], tj["spec"]
        status: Obj = clone(tj.get("status") or {})
        conditions: list[Obj] = list(status.get("conditions") or [])
        if _cond(tj, "Complete") or _cond(tj, "Failed"):
            return
        iso, now = self.clock.iso(), self.clock.now()
        js = self.store.get("jobsets", namespace, name)
        owned = js is not None and any(o.get("uid") == uid for o in js["metadata"].get("ownerReferences") or [])
        if js is None:
            runtime = self.store.get("clustertrainingruntimes", "", spec["runtimeRef"]["name"])
            if runtime is None:
                return  # refused at admission; a runtime deleted since leaves the TrainJob waiting
            js = jobset_for(tj, runtime)
            jobset_admission.default(js)
            js["metadata"]["namespace"] = namespace
            js = self.store.create("jobsets", js)
            owned = True
        if not owned:
            return
        if bool(js["spec"].get("suspend")) != bool(spec.get("suspend")):
            suspend = bool(spec.get("suspend"))
            self.store.mutate("jobsets", namespace, name, lambda o: o["spec"].__setitem__("suspend", suspend))
        if spec.get("suspend"):
            conditions = set_condition(conditions, "Suspended", "True", "Suspended", "TrainJob is suspended", iso)
            self._started.pop(uid, None)
        else:
            if any(c.get("type") == "Suspended" for c in conditions):
                conditions = set_condition(conditions, "Suspended", "False", "Resumed", "TrainJob is resumed", iso)
            started = self._started.setdefault(uid, now)
            deadline = spec.get("activeDeadlineSeconds")
            if deadline and now >= started + float(deadline):
                conditions = set_condition(conditions, "Failed", "True", "DeadlineExceeded",
                                           "TrainJob exceeded its active deadline", iso)
                self.events.record(tj, "Warning", "DeadlineExceeded", "TrainJob exceeded its active deadline",
                                   COMPONENT)
                with self.store.lock:  # the JobSet and its pods go; the TrainJob stays Failed
                    gc.cascade(self.store, namespace, uid)
            elif deadline and status.get("jobsStatus") is None:
                self.timer(started + float(deadline) + 0.001, "trainjob", namespace, name, uid)
        for kind, own in (("Completed", "Complete"), ("Failed", "Failed")):
            found = _cond(js, kind)
            if found is not None and not any(c.get("type") == own and c.get("status") == "True" for c in conditions):
                conditions = set_condition(conditions, own, "True", str(found.get("reason")),
                                           str(found.get("message")), iso)
        status["conditions"] = conditions
        status["jobsStatus"] = clone((js.get("status") or {}).get("replicatedJobsStatus") or [])
        trainer = self._trainer_status(tj, now, iso, done=_cond({"status": status}, "Complete") is not None)
        if trainer is not None:
            status["trainerStatus"] = trainer
        if status != (tj.get("status") or {}):
            self.store.mutate("trainjobs", namespace, name, lambda o: o.__setitem__("status", status))

    def _trainer_status(self, tj: Obj, now: float, iso: str, done: bool) -> Obj | None:
        old = (tj.get("status") or {}).get("trainerStatus")
        if done:
            return {**(old or {}), "progressPercentage": 100, "estimatedRemainingSeconds": 0, "lastUpdatedTime": iso}
        ns, name = tj["metadata"]["namespace"], tj["metadata"]["name"]
        _rv, pods = self.store.list("pods", ns, make_matcher("pods", f"jobset.sigs.k8s.io/jobset-name={name}", None))
        runs = [r for e in pods if (r := self.kubelet.runs.get((ns, e.obj["metadata"]["name"]))) is not None
                and r.started_at is not None and (e.obj.get("status") or {}).get("phase") == "Running"]
        if not runs:
            return old
        run = min(runs, key=lambda r: r.started_at or now)
        ran = max(0.0, now - (run.started_at or now))
        percent = int(min(99, 100 * ran / run.duration)) if run.duration > 0 else 0
        remaining = max(0, int(run.duration - ran))
        self.timer(now + min(PROGRESS_EVERY_S, max(remaining, 1)), "trainjob", ns, name, tj["metadata"]["uid"])
        if old and old.get("progressPercentage") == percent:
            return old  # type: ignore[no-any-return]
        return {"progressPercentage": percent, "estimatedRemainingSeconds": remaining,
                "metrics": [{"name": "loss", "value": f"{2.5 * (1 - percent / 100) + 0.3:.3f}"}],
                "lastUpdatedTime": iso}
