"""Reconciling the books with the cluster, for the dispatcher: the cluster is the truth about what runs.

``sync`` follows running jobs to their end and mends disagreements (an admitted job whose create did
not happen; a Job that vanished; a job queued in Redis but alive in Kubernetes, after Redis lost a
step); ``create`` makes a record's Kubernetes objects. Every write is fenced by the dispatcher's lease;
every card change is recorded for the card desk (never waits on Slack).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from bot.domain import messages as msg
from bot.domain.cluster.snapshot import JobPhase
from bot.domain.cluster.workloads import render_workload
from bot.domain.errors import BackendError
from bot.domain.jobs import RUNNING_STATES, JobRecord
from bot.services.cards import publish_card
from bot.services.needs import DispatcherPorts

# An admitted job without its Kubernetes Job is created by the sync only after this long: the pass
# that admitted it creates it right away, so a younger one is a create in flight, not a crash.
MEND_ADMITTED_AFTER_S = 5.0

Fence = tuple[str, str] | None


@dataclass
class PassResult:
    admitted: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    mended: list[str] = field(default_factory=list)  # "ns/name: what was mended", for logs and tests
    preempted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # waiting jobs whose ETA or reason changed
    decision_s: float = 0.0  # time spent deciding (plan + preemption), without I/O
    decided_after_s: float = 0.0  # from the start of the pass (the wake-up: GPUs freed, a submit) to the decision
    explain_s: float = 0.0  # reasons and estimates of the waiting jobs (0 when nothing moved)


class Reconciler:
    def __init__(self, rt: DispatcherPorts) -> None:
        self.rt = rt
        self.active: list[JobRecord] = []  # the records holding GPUs as the last sync read them

    def finish(self, r: JobRecord, from_states: list[str] | tuple[str, ...], to: str, reason: str | None,
               result: PassResult, fence: Fence) -> None:
        done = self.rt.store.transition(r.namespace, r.name, from_states, to, lease=fence,
                                        finished_at=self.rt.clock(), reason=reason)
        if done is not None:
            result.finished.append(r.key)
            publish_card(self.rt, done)

    def sync(self, jobs: Mapping[str, JobPhase], queued: list[JobRecord], result: PassResult,
             fence: Fence, *, down: Collection[str] = ()) -> set[str]:
        """Follow running jobs to their end and mend disagreements; returns the queued keys it moved.
        Jobs on a cluster in ``down`` (several clusters, one not answering) are left as they are."""
        moved: set[str] = set()
        now = self.rt.clock()
        self.active = self.rt.store.list(states=RUNNING_STATES, limit=100_000)
        for r in self.active:
            if down and r.cluster in down:
                continue  # its cluster does not answer: not gone, not failed, just not seen
            phase = jobs.get(r.key)
            if phase is None and r.created_at is None:
                if now - (r.admitted_at or 0.0) < MEND_ADMITTED_AFTER_S:
                    continue
                self.create(r, fence)  # a crash between admit and create: finish what was started
                result.mended.append(msg.mended(r.key, msg.MENDED_CREATED))
            elif phase is not None and phase.finished:
                self.finish(r, RUNNING_STATES, phase.finished,
                            None if phase.finished == "succeeded" else phase.reason, result, fence)
            elif phase is None:
                if self.rt.cluster.job_exists(r.namespace, r.name, kind=r.kind):
                    continue  # created after this pass listed the Jobs (the watcher saw it first)
                if r.stopped_by:  # a stop deleted it and has not recorded it yet (or crashed): the stop wins
                    self.finish(r, RUNNING_STATES, "stopped", msg.stopped_by(r.stopped_by), result, fence)
                    continue
                self.finish(r, RUNNING_STATES, "failed", msg.MENDED_GONE, result, fence)
                result.mended.append(msg.mended(r.key, msg.MENDED_GONE))
        # Queued in Redis but alive in Kubernetes: Redis lost a step (e.g. restored from an older
        # AOF). The cluster is the truth about what runs; a Job being deleted (a preemption in its
        # grace period) is not alive.
        for r in queued:
            phase = jobs.get(r.key)
            if phase is None or phase.deleting:
                continue
            if phase.idempotency_key not in (None, r.idempotency_key):
                # the finished Job of an earlier job of the same name (names are reusable once a job
                # has ended): remove it; this one waits until it is gone, then is created afresh
                self.rt.cluster.delete_job(r.namespace, r.name, wait_for_pods=True, kind=r.kind)
                continue
            moved.add(r.key)
            if phase.finished:
                self.finish(r, ["queued"], phase.finished,
                            None if phase.finished == "succeeded" else phase.reason, result, fence)
                result.mended.append(msg.mended(r.key, f"finished in Kubernetes ({phase.finished})"))
                continue
            now = self.rt.clock()
            running = self.rt.store.transition(r.namespace, r.name, ["queued"], "running", lease=fence,
                                               admitted_at=r.admitted_at or now, started_at=r.started_at or now,
                                               created_at=r.created_at or now, eta=None, reason=None,
                                               making_room=False)
            if running is not None:
                result.mended.append(msg.mended(r.key, msg.MENDED_RUNNING))
                publish_card(self.rt, running)
        return moved

    def create(self, r: JobRecord, fence: Fence) -> None:
        """Create the Kubernetes objects of an admitted record (idempotent by its key)."""
        try:
            self.rt.cluster.create(render_workload(r, self.rt.policy), r.idempotency_key)
        except BackendError as err:
            if err.retryable:
                raise  # stays admitted; the next pass creates it
            failed = self.rt.store.transition(r.namespace, r.name, ["admitted"], "failed", lease=fence,
                                              finished_at=self.rt.clock(), reason=str(err))
            if failed is not None:
                publish_card(self.rt, failed)
            return
        # The Job exists; whether its pods wait (pending, with the scheduler's reason) or run is the
        # watcher's to say, from what the cluster reports: the record stays admitted until then.
        created = self.rt.store.update(r.namespace, r.name, lease=fence, created_at=self.rt.clock())
        publish_card(self.rt, created or r)
