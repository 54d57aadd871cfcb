"""The Kueue controller manager in one thread: the Job integration, the scheduler, and Workload lifecycles.

Each cycle reads everything (the sim is small), admits in priority-then-FIFO order per ClusterQueue, issues
preemptions, and writes only what changed, so the store's watch streams carry Kueue's transitions.
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime

from bot.domain.cluster.objects import Obj
from bot.sim.clock import SimClock
from bot.sim.events import EventRecorder
from bot.sim.kueue import lifecycle
from bot.sim.kueue.quota import REASON_TEXT, Admitted, Snapshot, admitted_from, assign, parse_queue
from bot.sim.kueue.workloads import (
    JOB_UID_LABEL,
    PRIORITY_LABEL,
    QUEUE_LABEL,
    build_workload,
    cond,
    fmt_quantity,
    is_true,
    requests_of,
    set_condition,
)
from bot.sim.loop import ControllerLoop
from bot.sim.store import Store

KINDS = ("jobs", "workloads", "clusterqueues", "localqueues", "resourceflavors", "workloadpriorityclasses")
PERIOD_S = 0.1  # real seconds between cycles without changes (for maximum execution times)


class KueueController(ControllerLoop):
    thread_name = "sim-kueue"

    def __init__(self, store: Store, clock: SimClock, events: EventRecorder) -> None:
        self.store, self.clock, self.events = store, clock, events
        self.lock = threading.Lock()
        self.pending: dict[str, list[Obj]] = {}  # ClusterQueue → its pending Workloads, in admission order
        self._seq: dict[str, int] = {}  # uid → arrival order: FIFO among equal timestamps
        self._count = itertools.count()
        super().__init__()
        store.add_listener(self._on_change)

    def _on_change(self, kind: str, event_type: str, obj: Obj) -> None:
        if kind in KINDS:
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(PERIOD_S)
            self._wake.clear()
            self.cycle()

    # --- one cycle -----------------------------------------------------------------------------------

    def _all(self, kind: str) -> list[Obj]:
        return [e.obj for e in self.store.list(kind, None)[1]]

    def cycle(self) -> None:
        with self.lock:
            now = self.clock.iso()
            priorities = {p["metadata"]["name"]: int(p.get("value", 0)) for p in self._all("workloadpriorityclasses")}
            jobs = {j["metadata"]["uid"]: j for j in self._all("jobs")}
            workloads = self._all("workloads")
            by_job = {(w["metadata"].get("labels") or {}).get(JOB_UID_LABEL): w for w in workloads}
            for uid, job in jobs.items():
                if (job["metadata"].get("labels") or {}).get(QUEUE_LABEL) and uid not in by_job:
                    self._create(job, priorities, now)
            for wl in workloads:
                owner = jobs.get(str((wl["metadata"].get("labels") or {}).get(JOB_UID_LABEL)))
                if owner is None:  # the garbage collector follows the owner reference
                    self.store.delete("workloads", wl["metadata"]["namespace"], wl["metadata"]["name"])
                    continue
                lifecycle.sync(self.store, self.events, self.clock, wl, owner, now)
            self._schedule(now)

    def _create(self, job: Obj, priorities: dict[str, int], now: str) -> None:
        if not (job.get("spec") or {}).get("suspend"):
            return  # Kueue's webhook suspends queued Jobs; one created running is left alone here
        name = (job["metadata"].get("labels") or {}).get(PRIORITY_LABEL)
        wl = build_workload(job, priorities.get(name) if name else None, now)
        created = self.store.create("workloads", wl)
        self._seq[created["metadata"]["uid"]] = next(self._count)
        self.events.record(job, "Normal", "CreatedWorkload",
                           f"Created Workload: {wl['metadata']['namespace']}/{wl['metadata']['name']}",
                           "kueue-job-controller")

    def _order(self, wl: Obj) -> tuple[int, float, int]:
        # Kueue requeues a preempted Workload by its creation time, so it keeps its place.
        stamp = wl["metadata"].get("creationTimestamp", "")
        seconds = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").timestamp() if stamp else 0.0
        arrival = self._seq.setdefault(wl["metadata"]["uid"], next(self._count))
        return (-int((wl.get("spec") or {}).get("priority") or 0), seconds, arrival)

    def _schedule(self, now: str) -> None:
        flavors = {f["metadata"]["name"]: f for f in self._all("resourceflavors")}
        cqs = self._all("clusterqueues")
        snap = Snapshot([parse_queue(c) for c in cqs], flavors)
        lqs = {(q["metadata"]["namespace"], q["metadata"]["name"]): q for q in self._all("localqueues")}
        waiting: list[tuple[Obj, str]] = []
        for wl in self._all("workloads"):
            prio = int((wl.get("spec") or {}).get("priority") or 0)
            if is_true(wl, "Finished"):
                continue
            if is_true(wl, "QuotaReserved"):
                reserved = cond(wl, "QuotaReserved")
                snap.add(admitted_from(wl, prio, str((reserved or {}).get("lastTransitionTime", ""))))
                continue
            if (wl.get("spec") or {}).get("active") is False:
                continue
            lq = lqs.get((wl["metadata"]["namespace"], str(wl["spec"].get("queueName"))))
            if lq is None:
                self._pending(wl, "Inadmissible", f"LocalQueue {wl['spec'].get('queueName')} doesn't exist", now)
                continue
            cq_name = str((lq.get("spec") or {}).get("clusterQueue", ""))
            if cq_name not in snap.queues:
                self._pending(wl, "Inadmissible", f"ClusterQueue {cq_name} doesn't exist", now)
                continue
            waiting.append((wl, cq_name))
        # Kueue's entry ordering: what fits in its queue's nominal quota before what would borrow, then
        # priority, then FIFO; so a reclaiming queue is not overtaken by the borrower it just preempted.
        waiting.sort(key=lambda item: (snap.would_borrow(snap.queues[item[1]], requests_of(item[0]),
                                                         _selector(item[0])), self._order(item[0])))
        self.pending = {c["metadata"]["name"]: [] for c in cqs}
        for wl, cq_name in waiting:
            q = snap.queues[cq_name]
            selector = _selector(wl)
            prio = int(wl["spec"].get("priority") or 0)
            result = assign(snap, q, requests_of(wl), selector, prio)
            if result.flavors is not None:
                admitted = lifecycle.admit(self.store, self.events, wl, cq_name, result.flavors, now)
                if admitted is not None:
                    snap.add(Admitted(admitted, cq_name, prio, now, lifecycle.usage_for(wl, result.flavors)))
                continue
            self.pending[cq_name].append(wl)
            self._pending(wl, "Pending", result.message, now)
            for target, reason in result.preempt:
                lifecycle.preempt(self.store, self.events, target.wl, wl, reason, REASON_TEXT[reason],
                                  _path(snap, cq_name), _path(snap, target.queue), now)
        lifecycle.queue_status(self.store, cqs, lqs, snap, self.pending, fmt_quantity)

    def _pending(self, wl: Obj, reason: str, message: str, now: str) -> None:
        self.store.mutate("workloads", wl["metadata"]["namespace"], wl["metadata"]["name"],
                          lambda w: set_condition(w, "QuotaReserved", "False", reason, message, now))

    def visible(self, cq: str) -> list[Obj] | None:
        with self.lock:
            return list(self.pending[cq]) if cq in self.pending else None


def _selector(wl: Obj) -> dict[str, str]:
    template = wl["spec"]["podSets"][0].get("template") or {}
    return dict((template.get("spec") or {}).get("nodeSelector") or {})


def _path(snap: Snapshot, queue: str) -> str:
    q = snap.queues.get(queue)
    return f"/{q.cohort}/{queue}" if q is not None and q.cohort else f"/{queue}"

