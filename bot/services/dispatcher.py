"""The dispatcher: admits queued jobs while GPUs of their type are free, and follows them to the end.

One pass = sync the records with the cluster (finished jobs, admitted jobs whose create did not
happen yet), then admit in queue order. Passes run when woken (submit, stop) and on a slow timer
as a safety net. With several replicas only the holder of the Redis lease runs passes.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field

from bot.adapters.kube import JobPhase, Snapshot
from bot.core import messages as msg
from bot.core.errors import BackendError
from bot.core.jobs import RUNNING_STATES, JobRecord
from bot.core.manifests import render_job, render_service
from bot.core.scheduling import Demand, admit_in_order, place_gang, reserve
from bot.services.cards import publish_card
from bot.services.runtime import Runtime

log = logging.getLogger(__name__)

LEASE = "dispatcher"
LEASE_TTL_S = 15.0


@dataclass
class PassResult:
    admitted: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    mended: list[str] = field(default_factory=list)


class Dispatcher:
    def __init__(self, rt: Runtime, safety_interval_s: float = 5.0) -> None:
        self.rt = rt
        self.safety_interval_s = safety_interval_s
        self.holder = uuid.uuid4().hex
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        rt.wake_dispatcher = self.wake

    # --- one pass --------------------------------------------------------------------------------

    def run_pass(self) -> PassResult:
        with self._lock:
            result = PassResult()
            jobs = self.rt.cluster.managed_jobs()
            self._sync(jobs, result)
            self._admit(self.rt.cluster.snapshot(), result)
            return result

    def _sync(self, jobs: dict[str, JobPhase], result: PassResult) -> None:
        for r in self.rt.store.list(states=RUNNING_STATES, limit=100_000):
            phase = jobs.get(r.key)
            if r.state == "admitted" and phase is None:
                self._create(r)  # a crash between admit and create: finish what was started
                result.mended.append(r.key)
            elif phase is not None and phase.finished:
                reason = None if phase.finished == "succeeded" else phase.reason
                done = self.rt.store.transition(
                    r.namespace, r.name, RUNNING_STATES, phase.finished, finished_at=self.rt.clock(),
                    reason=reason,
                )
                if done is not None:
                    result.finished.append(r.key)
                    publish_card(self.rt, done)
            elif phase is None and r.state != "admitted":
                done = self.rt.store.transition(
                    r.namespace, r.name, ["pending", "running"], "failed", finished_at=self.rt.clock(),
                    reason="the Kubernetes Job disappeared (deleted outside the bot)",
                )
                if done is not None:
                    result.finished.append(r.key)
                    publish_card(self.rt, done)

    def _admit(self, snap: Snapshot, result: PassResult) -> None:
        active = self.rt.store.list(states=RUNNING_STATES, limit=100_000)
        free = {t: snap.facts.free_by_node(t) for t in self.rt.policy.gpu_types}
        # Jobs admitted but whose pods are not bound yet still hold their GPUs in our books.
        for r in active:
            missing = r.nodes - snap.bound_pods.get(r.key, 0)
            by_node = free.get(r.gpu_type, {})
            if missing > 0 and (spot := place_gang(by_node, missing, r.gpus_per_node)):
                reserve(by_node, spot, r.gpus_per_node)
        team_used: dict[str, int] = {}
        for r in active:
            team_used[r.team] = team_used.get(r.team, 0) + r.gpus
        quotas = {name: team.gpu_quota for name, team in self.rt.policy.teams.items()}
        queued = self.rt.store.queued()
        demands = [Demand(r.key, r.team, r.gpu_type, r.nodes, r.gpus_per_node) for r in queued]
        by_key = {r.key: r for r in queued}
        for demand, _nodes in admit_in_order(demands, free, team_used, quotas):
            r = by_key[demand.key]
            admitted = self.rt.store.transition(r.namespace, r.name, ["queued"], "admitted",
                                                admitted_at=self.rt.clock(), reason=None)
            if admitted is not None:
                self._create(admitted)
                result.admitted.append(r.key)
        self._explain_waiting(snap, [r for r in queued if r.key not in result.admitted], team_used, quotas)

    def _create(self, r: JobRecord) -> None:
        manifests = [render_job(r, self.rt.policy)]
        service = render_service(r, self.rt.policy)
        if service is not None:
            manifests.append(service)
        try:
            self.rt.cluster.create(manifests, r.idempotency_key)
        except BackendError as err:
            if err.retryable:
                raise  # stays admitted; the next pass creates it
            failed = self.rt.store.transition(
                r.namespace, r.name, ["admitted"], "failed", finished_at=self.rt.clock(), reason=str(err)
            )
            if failed is not None:
                publish_card(self.rt, failed)
            return
        running = self.rt.store.transition(r.namespace, r.name, ["admitted"], "running", started_at=self.rt.clock())
        if running is not None:
            publish_card(self.rt, running)

    def _explain_waiting(
        self, snap: Snapshot, waiting: list[JobRecord], team_used: dict[str, int], quotas: dict[str, int]
    ) -> None:
        for r in waiting:
            used, quota = team_used.get(r.team, 0), quotas.get(r.team, 0)
            if used + r.gpus > quota:
                reason = msg.quota_reason(r.team, used, quota)
            else:
                reason = msg.waiting_reason(r.gpus, r.gpu_type, snap.facts.free(r.gpu_type))
            if reason != r.reason:
                updated = self.rt.store.update(r.namespace, r.name, reason=reason)
                if updated is not None:
                    publish_card(self.rt, updated)

    # --- the loop --------------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        try:
            self.rt.store.release_lease(LEASE, self.holder)
        except BackendError:
            log.warning("could not release the dispatcher lease; it expires in %.0f s", LEASE_TTL_S)

    def _loop(self) -> None:
        holding = False
        while not self._stop.is_set():
            self._wake.wait(self.safety_interval_s)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                if holding:
                    holding = self.rt.store.renew_lease(LEASE, self.holder, LEASE_TTL_S)
                if not holding:
                    holding = self.rt.store.acquire_lease(LEASE, self.holder, LEASE_TTL_S) is not None
                if holding:
                    self.run_pass()
            except BackendError as err:
                log.warning("dispatcher pass failed (%s); retrying on the next wake", err)
            except Exception:
                log.exception("dispatcher pass crashed; retrying on the next wake")
