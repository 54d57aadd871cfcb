"""``scheduler: kueue``: the dispatcher submits to Kueue and follows its decisions instead of deciding.

A confirmed launch becomes a suspended, queue-labelled Job at once (Kueue's Workload is made from it);
the record stays queued with Kueue's reason (in the person's words) and its place in Kueue's queue
(visibility API) until Kueue admits the Workload, then it is admitted and the watcher follows the pods
as in builtin mode. Kueue evicting a running job (preemption) puts the record back in the queue, the
Job kept (Kueue suspended it and will start it again); a Workload deactivated for its maximum execution
time ends the job. Stop deletes the Job as in builtin mode (Kueue's Workload goes with it).
"""

from __future__ import annotations

from collections.abc import Mapping

from bot import metrics
from bot.domain import messages as msg
from bot.domain.cluster.kueue import LOCAL_QUEUE, cluster_queue_name, team_of_queue
from bot.domain.cluster.kueue_workloads import WorkloadView, quota_shortfall
from bot.domain.cluster.manifests import record_manifests
from bot.domain.cluster.snapshot import JobPhase
from bot.domain.errors import BackendError
from bot.domain.jobs import RUNNING_STATES, JobRecord
from bot.services.cards import publish_card
from bot.services.needs import DispatcherPorts, JobsPorts
from bot.services.notices import Notices
from bot.services.reconcile import Fence, PassResult, Reconciler

MAX_EXEC = "DeactivatedDueToMaximumExecutionTimeExceeded"


class KueueFollower:
    def __init__(self, rt: DispatcherPorts, reconciler: Reconciler, notices: Notices) -> None:
        self.rt = rt
        self.reconciler = reconciler
        self.notices = notices

    def follow(self, jobs: Mapping[str, JobPhase], queued: list[JobRecord], result: PassResult,
               fence: Fence) -> None:
        workloads = self.rt.cluster.workloads()
        positions: dict[str, dict[str, int]] = {}
        for r in queued:
            self._queued(r, jobs.get(r.key), workloads.get(r.key), positions, result, fence)
        for r in self.rt.store.list(states=RUNNING_STATES, limit=100_000):
            wl, phase = workloads.get(r.key), jobs.get(r.key)
            if wl is not None and phase is not None and not phase.finished:
                self._running(r, wl, result, fence)

    def _queued(self, r: JobRecord, phase: JobPhase | None, wl: WorkloadView | None,
                positions: dict[str, dict[str, int]], result: PassResult, fence: Fence) -> None:
        if phase is None:
            self._submit(r, fence)
            return
        if phase.deleting:
            return
        if phase.idempotency_key not in (None, r.idempotency_key):
            self.rt.cluster.delete_job(r.namespace, r.name, wait_for_pods=True)  # a namesake's old Job
            return
        if phase.finished:
            self.reconciler.finish(r, ["queued"], phase.finished,
                                   None if phase.finished == "succeeded" else phase.reason, result, fence)
            return
        now = self.rt.clock()
        if (wl is not None and wl.state == "admitted") or not phase.suspended:
            admitted = self.rt.store.transition(r.namespace, r.name, ["queued"], "admitted", lease=fence,
                                                admitted_at=now, created_at=r.created_at or now, reason=None,
                                                eta=None, making_room=False)
            if admitted is not None:
                metrics.ADMISSIONS.labels(admitted.gpu_type).inc()
                result.admitted.append(r.key)
                publish_card(self.rt, admitted)
            return
        reason = self._reason(r, wl, positions)
        if reason != r.reason:
            updated = self.rt.store.update(r.namespace, r.name, lease=fence, reason=reason, eta=None)
            if updated is not None and updated.state == "queued":
                result.updated.append(r.key)
                publish_card(self.rt, updated)

    def _submit(self, r: JobRecord, fence: Fence) -> None:
        """Create the suspended Job (idempotent by the record's key): from here on Kueue decides."""
        try:
            self.rt.cluster.create(record_manifests(r, self.rt.policy), r.idempotency_key)
        except BackendError as err:
            if err.retryable:
                raise  # still queued; the next pass submits it
            failed = self.rt.store.transition(r.namespace, r.name, ["queued"], "failed", lease=fence,
                                              finished_at=self.rt.clock(), reason=str(err))
            if failed is not None:
                publish_card(self.rt, failed)
            return
        created = self.rt.store.update(r.namespace, r.name, lease=fence, created_at=self.rt.clock(),
                                       reason=msg.kueue_submitted(), eta=None)
        if created is not None and created.state != "queued":
            # stopped while the create was on its way: the stop may have found no Job to delete
            self.rt.cluster.delete_job(r.namespace, r.name)
            return
        publish_card(self.rt, created or r)

    def _reason(self, r: JobRecord, wl: WorkloadView | None, positions: dict[str, dict[str, int]]) -> str:
        if wl is None:
            return msg.kueue_submitted()
        if wl.state == "inactive":
            return msg.kueue_deactivated(wl.reason)
        parts = []
        if wl.preempted_in is not None:
            parts.append(msg.kueue_preempted(wl.preempted_in, team_of_queue(wl.preemptor_queue)))
        parts.append(msg.kueue_waiting(quota_shortfall(wl.message), wl.message))
        if r.namespace not in positions:
            try:
                positions[r.namespace] = self.rt.cluster.pending_positions(r.namespace, LOCAL_QUEUE)
            except BackendError:
                positions[r.namespace] = {}  # the visibility API is optional in Kueue: no place shown
        place = positions[r.namespace].get(r.name)
        if place is not None:
            parts.append(msg.kueue_position(place, cluster_queue_name(r.team)))
        parts.append(msg.kueue_no_estimate())
        return " · ".join(parts)

    def _running(self, r: JobRecord, wl: WorkloadView, result: PassResult, fence: Fence) -> None:
        if wl.state == "inactive" and wl.reason == MAX_EXEC:
            self.reconciler.finish(r, RUNNING_STATES, "timedout", msg.kueue_deactivated(wl.reason), result, fence)
            self.rt.cluster.delete_job(r.namespace, r.name)  # Kueue keeps it suspended forever otherwise
            return
        preempted = (wl.state == "evicted" and wl.reason == "Preempted") or \
            (wl.state == "pending" and wl.preempted_in is not None)
        if not preempted:
            return
        # The Job stays: Kueue suspended it and starts it again when it is re-admitted.
        queued = self.rt.store.transition(
            r.namespace, r.name, RUNNING_STATES, "queued", lease=fence, preemptions=r.preemptions + 1,
            reason=msg.kueue_preempted(wl.preempted_in, team_of_queue(wl.preemptor_queue)), admitted_at=None,
            started_at=None, over_quota=False, eta=None, node_names=[], making_room=False)
        if queued is None:
            return
        result.preempted.append(r.key)
        publish_card(self.rt, queued)
        self.notices.announce(queued, f"preempted-{queued.preemptions}")


def kueue_queue(rt: JobsPorts) -> list[JobRecord]:
    """The queued records in Kueue's order: position in their ClusterQueue (visibility API), then submit."""
    rows = rt.store.queued_with_seq()
    places: dict[str, int] = {}
    for ns in sorted({r.namespace for r, _ in rows}):
        try:
            for job, pos in rt.cluster.pending_positions(ns, LOCAL_QUEUE).items():
                places[f"{ns}/{job}"] = pos
        except BackendError:
            continue  # without the visibility API the submit order is all there is
    big = len(rows) + 1_000_000
    return [r for r, _ in sorted(rows, key=lambda row: (places.get(row[0].key, big), row[1]))]
