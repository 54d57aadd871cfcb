"""One thread standing in for kube-controller-manager, kube-scheduler and every kubelet.

Work is event driven: store changes land in an inbox, simulated-time deadlines in a heap, so a tick
costs O(changes + due timers), not O(objects).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque

from bot.domain.cluster.objects import Obj
from bot.sim.clock import SimClock
from bot.sim.events import EventRecorder
from bot.sim.jobctl import JobController
from bot.sim.jobset.controller import JobSetController
from bot.sim.kubelet import Kubelet
from bot.sim.loop import ControllerLoop
from bot.sim.pod_status import gpus_of
from bot.sim.scheduler import Gang, NodeState, PodReq, Scheduler
from bot.sim.store import Store
from bot.sim.trainer.controller import TrainJobController

TICK_SECONDS = 0.02


class Controller(ControllerLoop):
    thread_name = "sim-controller"

    def __init__(self, store: Store, clock: SimClock) -> None:
        self.store = store
        self.clock = clock
        self.lock = threading.RLock()  # taken before the store lock, never after
        self.events = EventRecorder(store, clock)
        self.scheduler = Scheduler()
        self.kubelet = Kubelet(store, clock, self.events, self._at)
        self.jobs = JobController(store, clock, self.events, self.scheduler, self.kubelet, self._at)
        self._inbox: deque[tuple[str, str, Obj]] = deque()
        super().__init__()
        self._timers: list[tuple[float, int, str, str, str, str]] = []
        self._seq = itertools.count()
        self._dirty: set[tuple[str, str]] = set()
        self.jobsets = JobSetController(store, self.events, clock.iso)
        self.trainjobs = TrainJobController(store, clock, self.events, self.kubelet, self._at)
        # JobSets and TrainJobs to reconcile, by (namespace, name); kept apart from Jobs
        self._dirty_owners: dict[str, set[tuple[str, str]]] = {"jobsets": set(), "trainjobs": set()}
        self._job_by_uid: dict[str, tuple[str, str]] = {}
        store.add_listener(self._on_change)

    # --- lifecycle -----------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            with self.lock:
                self.step()
                next_due = self._timers[0][0] if self._timers else None
            wait = TICK_SECONDS * 10
            if next_due is not None:
                wait = min(wait, self.clock.real_seconds(next_due - self.clock.now()))
            # Coalesce bursts of changes: after a wake-up, let a few more arrive before the next step.
            if self._wake.wait(max(wait, 0.001)):
                self._wake.clear()
                time.sleep(TICK_SECONDS / 4)

    def _on_change(self, kind: str, event_type: str, obj: Obj) -> None:
        # Runs under the store lock in whichever thread wrote: only queue, never take our lock.
        if kind in ("jobs", "pods", "jobsets", "trainjobs"):
            self._inbox.append((kind, event_type, obj))
            self._wake.set()

    def _at(self, when: float, action: str, namespace: str, name: str, uid: str) -> None:
        heapq.heappush(self._timers, (when, next(self._seq), action, namespace, name, uid))
        self._wake.set()

    # --- one step ------------------------------------------------------------------------------------

    def step(self) -> None:
        """Process queued changes, due timers, dirty jobs and the scheduler once (caller holds the lock)."""
        while self._inbox:
            self._apply(*self._inbox.popleft())
        now = self.clock.now()
        while self._timers and self._timers[0][0] <= now:
            _when, _seq, action, ns, name, uid = heapq.heappop(self._timers)
            self._fire(action, ns, name, uid)
        while self._inbox:
            self._apply(*self._inbox.popleft())
        dirty, self._dirty = self._dirty, set()
        for ns, name in sorted(dirty):
            self.jobs.reconcile(ns, name)
        while self._inbox:  # a Job's new status concerns its JobSet at once
            self._apply(*self._inbox.popleft())
        for plural, reconcile in (("jobsets", self.jobsets.reconcile), ("trainjobs", self.trainjobs.reconcile)):
            owners, self._dirty_owners[plural] = self._dirty_owners[plural], set()
            for ns, name in sorted(owners):
                reconcile(ns, name)
        decision = self.scheduler.schedule()
        for pod, node in decision.bound:
            self.kubelet.bind(pod.key[0], pod.key[1], node)
        for gang, message in decision.unschedulable:
            for pod in gang.pods:
                self.kubelet.unschedulable(pod.key[0], pod.key[1], message)

    def _apply(self, kind: str, event_type: str, obj: Obj) -> None:
        meta = obj["metadata"]
        key = (meta.get("namespace", ""), meta["name"])
        for plural, owner_kind in (("jobsets", "JobSet"), ("trainjobs", "TrainJob")):
            if kind == plural and event_type != "DELETED":
                self._dirty_owners[plural].add(key)
            for o in meta.get("ownerReferences") or []:
                if o.get("kind") == owner_kind and event_type != "ADDED":
                    self._dirty_owners[plural].add((key[0], str(o.get("name"))))
        if kind in ("jobsets", "trainjobs"):
            return
        if kind == "jobs":
            if event_type == "DELETED":
                self._job_by_uid.pop(meta["uid"], None)
                self.jobs.state.pop(meta["uid"], None)
            else:
                self._job_by_uid[meta["uid"]] = key
                self._dirty.add(key)
            return
        owner = next((o for o in meta.get("ownerReferences") or [] if o.get("kind") == "Job"), None)
        job_key = self._job_by_uid.get(owner.get("uid", "")) if owner else None
        if event_type == "DELETED":
            self.scheduler.forget(key)
            self.kubelet.forget(*key)
        elif event_type == "ADDED" and owner is None and not obj.get("spec", {}).get("nodeName"):
            # A bare pod created through the API is its own gang of one.
            req = PodReq(key, gpus_of(obj), tuple(sorted((obj["spec"].get("nodeSelector") or {}).items())))
            self.scheduler.add_gang(Gang(meta["uid"], [req]))
        elif event_type == "MODIFIED" and obj.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            self.scheduler.release(key)
        if job_key is not None:
            self._dirty.add(job_key)

    def _fire(self, action: str, ns: str, name: str, uid: str) -> None:
        if action == "deadline":
            self._dirty.add((ns, name))
            return
        if action == "trainjob":  # a progress report or an activeDeadlineSeconds
            self._dirty_owners["trainjobs"].add((ns, name))
            return
        pod = self.store.get("pods", ns, name)
        if pod is None or pod["metadata"]["uid"] != uid:
            return  # the pod was deleted (or replaced by a namesake) since the timer was set
        if action == "start":
            self.kubelet.start(ns, name)
        elif action == "finish":
            self.kubelet.finish(ns, name)

    # --- nodes ---------------------------------------------------------------------------------------

    def add_node(self, node: Obj) -> None:
        with self.lock:
            self.store.create("nodes", node)
            labels = node["metadata"].get("labels") or {}
            gpus = int(node["status"]["allocatable"].get("nvidia.com/gpu", "0"))
            self.scheduler.add_node(NodeState(node["metadata"]["name"], dict(labels), gpus))
            self._wake.set()

    def remove_node(self, name: str) -> list[str]:
        """Take the node away: its pods fail with NodeLost. Returns the lost pods' names."""
        with self.lock:
            lost = self.scheduler.remove_node(name)
            node = self.store.get("nodes", "", name)
            for ns, pod_name in lost:
                message = f"Node {name} which was running pod {pod_name} is unresponsive"
                pod = self.kubelet.terminate(ns, pod_name, 137, "ContainerStatusUnknown", "NodeLost", message)
                if pod is not None:
                    self.events.record(pod, "Warning", "NodeLost", message, "node-controller")
            if node is not None:
                self.events.record(
                    node,
                    "Normal",
                    "RemovingNode",
                    f"Node {name} event: Removing Node {name} from Controller",
                    "node-controller",
                )
                self.store.delete("nodes", "", name)
            self._wake.set()
            return [p for _ns, p in lost]

    def read_log(self, namespace: str, name: str, container: str | None, tail: int | None) -> str:
        with self.lock:
            return self.kubelet.read_log(namespace, name, container, tail)
