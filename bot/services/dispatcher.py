"""The dispatcher: applies the scheduler's decisions (``bot.domain.scheduling.model`` and friends) to the world.

One pass = sync the records with the cluster (finished jobs; admitted jobs whose create did not
happen; jobs Redis and Kubernetes disagree about: mended and reported), accrue fair-share usage,
then plan (priority, fair share, quota, EASY backfill, over-quota), preempt for blocked in-quota
jobs, admit, and refresh each waiting job's ETA and reason when they changed meaningfully.

Passes run when woken (submit, stop, finish via ``rt.wake_dispatcher``) and on a slow timer as a
safety net. With several replicas only the holder of the Redis lease runs passes; it renews every
TTL/3 even when idle, and every admission write is fenced by the lease inside the same Lua step.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field

from bot import metrics
from bot.domain import messages as msg
from bot.domain.cluster.manifests import render_job, render_service
from bot.domain.cluster.snapshot import JobPhase, Snapshot
from bot.domain.errors import BackendError, LeaseLost
from bot.domain.jobs import RUNNING_STATES, JobRecord
from bot.domain.scheduling.admission import plan_admissions
from bot.domain.scheduling.eta import changed_meaningfully, estimate
from bot.domain.scheduling.fair_share import Usage, accrue, share_ratios
from bot.domain.scheduling.model import (
    Plan,
    RunningJob,
    SchedState,
    order_queue,
    place_gang,
    reserve,
)
from bot.domain.scheduling.preemption import PreemptionPlan, plan_preemptions
from bot.render.queue import why_text
from bot.services.cards import publish_card
from bot.services.ports import DispatcherPorts
from bot.services.queue_view import queued_job

log = logging.getLogger(__name__)

LEASE = "dispatcher"
LEASE_TTL_S = 15.0
ETA_REFRESH_S = 60.0  # recompute estimates at least this often even when nothing changed
# An admitted job without its Kubernetes Job is created by the sync only after this long: the pass
# that admitted it creates it right away, so a younger one is a create in flight, not a crash.
MEND_ADMITTED_AFTER_S = 5.0


@dataclass
class PassResult:
    admitted: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    mended: list[str] = field(default_factory=list)  # "ns/name: what was mended", for logs and tests
    preempted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)  # waiting jobs whose ETA or reason changed
    decision_s: float = 0.0  # time spent deciding (plan + preemption), without I/O


class Dispatcher:
    def __init__(self, rt: DispatcherPorts, safety_interval_s: float = 5.0, *,
                 lease_ttl_s: float = LEASE_TTL_S) -> None:
        self.rt = rt
        self.safety_interval_s = safety_interval_s
        self.lease_ttl_s = lease_ttl_s
        self.holder = uuid.uuid4().hex
        self.token: int | None = None  # the fencing token of the current lease, for logs
        self.fence: tuple[str, str] | None = None  # set while the loop holds the lease
        self.passes = 0
        self.renewals = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._eta_mark: tuple[str, float] = ("", 0.0)
        rt.wake_dispatcher.connect(self.wake)

    # --- one pass --------------------------------------------------------------------------------

    def run_pass(self) -> PassResult:
        with self._lock:
            result = PassResult()
            jobs = self.rt.cluster.managed_jobs()
            rows = self.rt.store.queued_with_seq()
            moved = self._sync(jobs, [r for r, _ in rows], result)
            rows = [(r, seq) for r, seq in rows if r.key not in moved]
            self._schedule(self.rt.cluster.snapshot(), jobs, rows, result)
            self.passes += 1
            self._count_queue(rows, set(result.admitted))
            for line in result.mended:
                log.warning("reconciled Redis with the cluster: %s", line)
            return result

    def _count_queue(self, rows: list[tuple[JobRecord, int]], admitted: set[str]) -> None:
        depth = dict.fromkeys(self.rt.policy.gpu_types, 0)
        for r, _ in rows:
            if r.key not in admitted:
                depth[r.gpu_type] = depth.get(r.gpu_type, 0) + 1
        for gpu_type, n in depth.items():
            metrics.QUEUE_DEPTH.labels(gpu_type).set(n)

    def _done(self, r: JobRecord, from_states: list[str] | tuple[str, ...], to: str, reason: str | None,
              result: PassResult) -> None:
        done = self.rt.store.transition(r.namespace, r.name, from_states, to, lease=self.fence,
                                        finished_at=self.rt.clock(), reason=reason)
        if done is not None:
            result.finished.append(r.key)
            publish_card(self.rt, done)

    def _sync(self, jobs: dict[str, JobPhase], queued: list[JobRecord], result: PassResult) -> set[str]:
        """Follow running jobs to their end and mend disagreements; returns the queued keys it moved."""
        moved: set[str] = set()
        now = self.rt.clock()
        for r in self.rt.store.list(states=RUNNING_STATES, limit=100_000):
            phase = jobs.get(r.key)
            if phase is None and r.created_at is None:
                if now - (r.admitted_at or 0.0) < MEND_ADMITTED_AFTER_S:
                    continue
                self._create(r)  # a crash between admit and create: finish what was started
                result.mended.append(msg.mended(r.key, msg.MENDED_CREATED))
            elif phase is not None and phase.finished:
                self._done(r, RUNNING_STATES, phase.finished,
                           None if phase.finished == "succeeded" else phase.reason, result)
            elif phase is None:
                if self.rt.cluster.job_exists(r.namespace, r.name):
                    continue  # created after this pass listed the Jobs (the watcher saw it first)
                if r.stopped_by:  # a stop deleted it and has not recorded it yet (or crashed): the stop wins
                    self._done(r, RUNNING_STATES, "stopped", msg.stopped_by(r.stopped_by), result)
                    continue
                self._done(r, RUNNING_STATES, "failed", msg.MENDED_GONE, result)
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
                self.rt.cluster.delete_job(r.namespace, r.name, wait_for_pods=True)
                continue
            moved.add(r.key)
            if phase.finished:
                self._done(r, ["queued"], phase.finished,
                           None if phase.finished == "succeeded" else phase.reason, result)
                result.mended.append(msg.mended(r.key, f"finished in Kubernetes ({phase.finished})"))
                continue
            now = self.rt.clock()
            running = self.rt.store.transition(r.namespace, r.name, ["queued"], "running", lease=self.fence,
                                               admitted_at=r.admitted_at or now, started_at=r.started_at or now,
                                               created_at=r.created_at or now,
                                               eta=None, reason=None, making_room=False)
            if running is not None:
                result.mended.append(msg.mended(r.key, msg.MENDED_RUNNING))
                publish_card(self.rt, running)
        return moved

    # --- deciding ----------------------------------------------------------------------------------

    def _state(
        self, snap: Snapshot, jobs: dict[str, JobPhase], rows: list[tuple[JobRecord, int]]
    ) -> tuple[SchedState, dict[str, JobRecord], dict[str, Usage]]:
        now = self.rt.clock()
        policy = self.rt.policy
        free = {t: snap.facts.free_by_node(t) for t in policy.gpu_types}
        node_type = {n.name: n.gpu_type for n in snap.facts.nodes if n.gpu_type}
        active = self.rt.store.list(states=RUNNING_STATES, limit=100_000)
        running: list[RunningJob] = []
        for r in active:
            placement = dict(snap.pods.get(r.key, {}))
            # Pods not bound yet still hold their GPUs in our books: reserve a spot for them.
            missing = r.nodes - snap.bound_pods.get(r.key, 0)
            by_node = free.get(r.gpu_type, {})
            if missing > 0 and (spot := place_gang(by_node, missing, r.gpus_per_node)):
                reserve(by_node, spot, r.gpus_per_node)
                for n in spot:
                    placement[n] = placement.get(n, 0) + r.gpus_per_node
            start = r.started_at or r.admitted_at or now
            running.append(RunningJob(r.key, r.team, r.gpu_type, tuple(placement.items()), start + r.time_limit_s,
                                      r.priority, r.over_quota, start))
        # GPUs held by pods of jobs that no longer run in our books (preempted or stopped, in their
        # grace period): busy now, free soon.
        live = {r.key for r in active}
        draining: dict[str, dict[str, int]] = {}
        for key, on_nodes in snap.pods.items():
            if key in live:
                continue
            for node, gpus in on_nodes.items():
                t = node_type.get(node)
                if t:
                    draining.setdefault(t, {})[node] = draining.get(t, {}).get(node, 0) + gpus
        quotas = {name: team.gpu_quota for name, team in policy.teams.items()}
        usage = self._accrue(running, quotas, now)
        ratios = share_ratios({t: u.gpu_hours for t, u in usage.items()}, quotas)
        # a re-queued job whose old Job is still being deleted waits until it is gone
        records = {r.key: r for r, _ in rows if r.key not in jobs}
        queue = order_queue([queued_job(r, seq) for r, seq in rows if r.key in records], ratios)
        state = SchedState(now, free, running, queue, quotas, draining,
                           drain_s=float(policy.job_defaults.termination_grace_period_s),
                           backfill_depth=policy.scheduler.backfill_depth)
        return state, records, usage

    def _accrue(self, running: list[RunningJob], quotas: dict[str, int], now: float) -> dict[str, Usage]:
        held: dict[str, int] = {}
        for r in running:
            held[r.team] = held.get(r.team, 0) + r.gpus
        half_life = float(self.rt.policy.scheduler.fair_share_half_life)
        old = self.rt.store.load_usage()
        new = {t: accrue(old.get(t, Usage()), held.get(t, 0), now, half_life) for t in quotas}
        self.rt.store.save_usage(new, lease=self.fence)
        return new

    def _schedule(self, snap: Snapshot, jobs: dict[str, JobPhase], rows: list[tuple[JobRecord, int]],
                  result: PassResult) -> None:
        state, records, usage = self._state(snap, jobs, rows)
        t0 = time.perf_counter()
        plan = plan_admissions(state, explain=False)  # the decision; reasons are worked out below
        pre = plan_preemptions(state, plan)
        result.decision_s = time.perf_counter() - t0
        self._preempt(state, pre, result)
        for s in plan.starts:
            r = records[s.job.key]
            admitted = self.rt.store.transition(r.namespace, r.name, ["queued"], "admitted", lease=self.fence,
                                                admitted_at=self.rt.clock(), reason=None, eta=None,
                                                over_quota=s.over_quota, making_room=False)
            if admitted is not None:
                metrics.ADMISSIONS.labels(admitted.gpu_type).inc()
                self._create(admitted)
                result.admitted.append(r.key)
        self._promote(state, plan)
        self._explain(state, usage, plan, pre, records, result)

    def _preempt(self, state: SchedState, pre: PreemptionPlan, result: PassResult) -> None:
        grace = self.rt.policy.job_defaults.termination_grace_period_s
        for p in pre.preemptions:
            ns, _, name = p.victim.key.partition("/")
            old = self.rt.store.get(ns, name)
            if old is None or old.state not in RUNNING_STATES:
                continue
            # Back to the queue first, then delete: a crash in between leaves a queued record with a
            # live Job, which the next pass marks running again (nothing lost); the other order
            # could lose the job.
            queued = self.rt.store.transition(
                ns, name, RUNNING_STATES, "queued", lease=self.fence, preemptions=old.preemptions + 1,
                reason=msg.preempted_reason(p.for_key.partition("/")[2], grace), admitted_at=None,
                created_at=None, started_at=None, over_quota=False, eta=None, node_names=[], making_room=False,
            )
            if queued is None:
                continue
            self.rt.cluster.preempt_job(ns, name, grace)
            result.preempted.append(p.victim.key)
            publish_card(self.rt, queued)

    def _promote(self, state: SchedState, plan: Plan) -> None:
        """An over-quota job whose team is back under quota is no longer preemptible."""
        used: dict[str, int] = {}
        for r in state.running:
            if not r.over_quota:
                used[r.team] = used.get(r.team, 0) + r.gpus
        for s in plan.starts:  # this pass's in-quota starts count first
            if not s.over_quota:
                used[s.job.team] = used.get(s.job.team, 0) + s.job.gpus
        for r in sorted((r for r in state.running if r.over_quota), key=lambda r: r.started_at):
            if used.get(r.team, 0) + r.gpus <= state.quotas.get(r.team, 0):
                used[r.team] = used.get(r.team, 0) + r.gpus
                ns, _, name = r.key.partition("/")
                done = self.rt.store.update(ns, name, lease=self.fence, over_quota=False)
                if done is not None and done.state in RUNNING_STATES:
                    publish_card(self.rt, done)

    def _explain(self, state: SchedState, usage: dict[str, Usage], plan: Plan, pre: PreemptionPlan,
                 records: dict[str, JobRecord], result: PassResult) -> None:
        """Reasons and ETAs of waiting jobs: worked out when the queue or the running set changed (or
        every ETA_REFRESH_S), and written (card updated) only when they changed meaningfully."""
        started = {s.job.key for s in plan.starts}
        waiting = [j for j in state.queue if j.key not in started]
        if not waiting:
            return
        mark = hashlib.sha1(
            "|".join([*(j.key for j in state.queue), *(r.key for r in state.running)]).encode()
        ).hexdigest()
        if mark == self._eta_mark[0] and time.monotonic() - self._eta_mark[1] < ETA_REFRESH_S and not pre.preemptions:
            return
        self._eta_mark = (mark, time.monotonic())
        sched = self.rt.policy.scheduler
        plan = plan_admissions(state, explain=True)  # same decision, now with every waiting job's why
        etas = estimate(state, float(sched.eta_horizon), usage=usage, half_life_s=float(sched.fair_share_half_life))
        preempting: dict[str, int] = {}
        for p in pre.preemptions:
            preempting[p.for_key] = preempting.get(p.for_key, 0) + 1
        for j in waiting:
            r = records[j.key]
            why = plan.waits.get(j.key)
            if j.key in preempting:
                reason = msg.sched_preempting(preempting[j.key])
            elif j.key in pre.waiting_for_drain:
                reason = msg.sched_draining(j.gpus, j.gpu_type)
            elif why is not None:
                reason = why_text(why)
            else:
                reason = r.reason or ""
            # its start waits only on GPUs being freed for it: no clock time (the simulation would
            # still count the victims' full limits) but "starting: making room"
            making_room = j.key in preempting or j.key in pre.waiting_for_drain
            eta = None if making_room else etas.get(j.key)
            eta_moved = changed_meaningfully(r.eta, eta, state.now)
            if reason == r.reason and not eta_moved and making_room == r.making_room:
                continue
            updated = self.rt.store.update(r.namespace, r.name, lease=self.fence, reason=reason,
                                           eta=eta if eta_moved else r.eta, making_room=making_room)
            if updated is not None and updated.state == "queued":
                result.updated.append(r.key)
                publish_card(self.rt, updated)

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
                r.namespace, r.name, ["admitted"], "failed", lease=self.fence, finished_at=self.rt.clock(),
                reason=str(err),
            )
            if failed is not None:
                publish_card(self.rt, failed)
            return
        # The Job exists; whether its pods wait (pending, with the scheduler's reason) or run is the
        # watcher's to say, from what the cluster reports: the record stays admitted until then.
        created = self.rt.store.update(r.namespace, r.name, lease=self.fence, created_at=self.rt.clock())
        publish_card(self.rt, created or r)

    # --- the loop --------------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="dispatcher", daemon=True)
        self._thread.start()

    def stop(self, *, release: bool = True) -> None:
        """Stop the loop; ``release=False`` leaves the lease to expire (as if this replica died)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.fence = None
        if not release:
            return
        try:
            self.rt.store.release_lease(LEASE, self.holder)
        except BackendError:
            log.warning("could not release the dispatcher lease; it expires in %.0f s", self.lease_ttl_s)

    def _hold(self, holding: bool) -> bool:
        """Renew the lease (or try to take it); True while this replica is the dispatcher."""
        if holding and self.rt.store.renew_lease(LEASE, self.holder, self.lease_ttl_s):
            self.renewals += 1
            return True
        token = self.rt.store.acquire_lease(LEASE, self.holder, self.lease_ttl_s)
        if token is not None:
            self.token = token
            log.info("dispatcher lease taken (fencing token %d); reconciling with the cluster", token)
        return token is not None

    def _loop(self) -> None:
        holding = False
        next_pass = 0.0
        # The holder wakes at least every TTL/3 to renew, so it never loses the lease while alive,
        # however long the safety interval; the others try every TTL/15 (1 s), so they take over
        # at most about a second after the lease of a dead holder expires (<= TTL after its death).
        while not self._stop.is_set():
            tick = min(self.safety_interval_s, self.lease_ttl_s / (3 if holding else 15))
            woken = self._wake.wait(tick)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                was_holding = holding
                holding = self._hold(holding)
                self.fence = (LEASE, self.holder) if holding else None
                due = woken or time.monotonic() >= next_pass or (holding and not was_holding)
                if holding and due:
                    next_pass = time.monotonic() + self.safety_interval_s
                    self.run_pass()
            except LeaseLost:
                log.warning("dispatcher lease lost mid-pass; another replica dispatches now")
                holding, self.fence = False, None
            except BackendError as err:
                log.warning("dispatcher pass failed (%s); retrying on the next wake", err)
            except Exception:
                log.exception("dispatcher pass crashed; retrying on the next wake")
