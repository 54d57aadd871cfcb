"""The dispatcher: the loop, the lease and the writes around one pure scheduling cycle.

One pass = reconcile the books with the cluster (``reconcile``: finished jobs, mends), read one
``Books`` picture, let ``bot.domain.scheduling.cycle`` decide (priority, fair share, quota, EASY
backfill, over-quota, preemption, promotions), then write: preempt, admit and create, promote, and
refresh each waiting job's ETA and reason when they changed meaningfully. Cards are recorded for the
card desk, which posts them: a pass never waits on Slack, its time is Redis's and Kubernetes's.

Passes run when woken (submit, stop, finish via ``rt.wake_dispatcher``) and on a slow timer as a
safety net. With several replicas only the holder of the Redis lease runs passes; it renews every
TTL/3 even when idle, and every admission write is fenced by the lease inside the same Lua step.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import replace
from typing import Any

from bot import metrics
from bot.domain import messages as msg
from bot.domain.cluster.snapshot import JobPhase, Snapshot
from bot.domain.cluster.workloads import workload_plurals
from bot.domain.errors import BackendError, LeaseLost
from bot.domain.jobs import RUNNING_STATES, JobRecord
from bot.domain.scheduling.cycle import Books, Decision, Waiting, decide, explain
from bot.domain.scheduling.eta import changed_meaningfully
from bot.domain.scheduling.pools import pool_text, split_pool
from bot.render.queue import why_text
from bot.services import placement
from bot.services.audit import record as audit
from bot.services.cards import publish_card
from bot.services.kueue_follow import KueueFollower
from bot.services.needs import DispatcherPorts
from bot.services.notices import Notices
from bot.services.queue_book import QueueBook
from bot.services.reconcile import PassResult, Reconciler

__all__ = ["LEASE", "Dispatcher", "PassResult"]

log = logging.getLogger(__name__)

LEASE = "dispatcher"
LEASE_TTL_S = 15.0
ETA_REFRESH_S = 60.0  # recompute estimates at least this often even when nothing changed


class Dispatcher:
    def __init__(self, rt: DispatcherPorts, safety_interval_s: float = 5.0, *,
                 lease_ttl_s: float = LEASE_TTL_S) -> None:
        self.rt = rt
        self.reconciler = Reconciler(rt)
        self.notices = Notices(rt)
        self.kueue = KueueFollower(rt, self.reconciler, self.notices)
        self.book = QueueBook(rt.store)  # the queue in memory, kept in step by the store's change feed
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
        self._began = 0.0
        rt.wake_dispatcher.connect(self.wake)

    # --- one pass --------------------------------------------------------------------------------

    def run_pass(self) -> PassResult:
        with self._lock:
            self._began = time.perf_counter()
            result = PassResult()
            kueue = self.rt.policy.scheduler.mode == "kueue"
            # several clusters: which answer is known first, so that one that does not is left alone
            snap = self.rt.cluster.snapshot() if len(self.rt.policy.clusters) > 1 and not kueue else None
            jobs = self.rt.cluster.managed_jobs(workload_plurals(self.rt.policy))
            self.book.refresh(self.fence)
            if kueue:
                # Kueue admits: its queued jobs live in the cluster (suspended) and are followed, not mended.
                self.reconciler.sync(jobs, [], result, self.fence)
                self.kueue.follow(jobs, [r for r, _ in self.rt.store.queued_with_seq()], result, self.fence)
            else:
                down = frozenset(snap.unreachable) if snap is not None else frozenset()
                moved = self.reconciler.sync(jobs, self._queued_in_cluster(jobs), result, self.fence, down=down)
                for key in moved:
                    self.book.forget(key)
                self._schedule(snap or self.rt.cluster.snapshot(), jobs, result)
            self.book.trim(self.fence)
            self.passes += 1
            self._count_queue()
            for line in result.mended:
                log.warning("reconciled Redis with the cluster: %s", line)
            return result

    def _queued_in_cluster(self, jobs: dict[str, JobPhase]) -> list[JobRecord]:
        """The queued records that have a Kubernetes Job (few: the rest of the queue is not read)."""
        out = []
        for key in jobs:
            if key in self.book.index:
                r = self.rt.store.get(*key.split("/", 1))
                if r is not None and r.state == "queued":
                    out.append(r)
        return out

    def _count_queue(self) -> None:
        depth = dict.fromkeys(self.rt.policy.gpu_types, 0) | self.book.index.depth_by_type()
        for gpu_type, n in depth.items():
            metrics.QUEUE_DEPTH.labels(gpu_type).set(n)

    def _books(self, snap: Snapshot, jobs: dict[str, JobPhase], result: PassResult) -> Books:
        if result.mended:  # the sync changed more than it finished: read the running set again
            active = self.rt.store.list(states=RUNNING_STATES, limit=100_000)
        else:  # what the sync read, less what it finished (one read of the running set a pass, not two)
            finished = set(result.finished)
            active = [r for r in self.reconciler.active if r.key not in finished]
        return Books(now=self.rt.clock(), facts=snap.facts, active=active, queued=[],
                     in_cluster=frozenset(jobs), pods=snap.pods, bound_pods=snap.bound_pods,
                     usage=self.rt.store.load_usage(), index=self.book.index)

    def _schedule(self, snap: Snapshot, jobs: dict[str, JobPhase], result: PassResult) -> None:
        books = self._books(snap, jobs, result)
        policy, where = self.rt.policy, None
        if snap.clusters:  # several clusters: a pool per (cluster, GPU type), a cluster for each queued job
            # the queue is read whole here (the in-memory index keys its pools by GPU type alone)
            rows = [(r, seq) for r, seq in self.rt.store.queued_with_seq() if r.key in self.book.index]
            books = replace(books, queued=rows, index=None)
            policy, pooled_books, where = placement.pooled(policy, books, snap)
            placement.follow(self.rt, snap, books.active, where, {r.key: r for r, _ in rows}, self.fence)
            books = pooled_books
        t0 = time.perf_counter()
        d = decide(policy, books)
        result.decision_s = time.perf_counter() - t0
        result.decided_after_s = time.perf_counter() - self._began
        self.rt.store.save_usage(d.usage, lease=self.fence)
        self._preempt(d, result)
        for s in d.starts:
            ns, _, name = s.job.key.partition("/")
            admitted = self.rt.store.transition(ns, name, ["queued"], "admitted", lease=self.fence,
                                                admitted_at=self.rt.clock(), reason=None, eta=None,
                                                over_quota=s.over_quota, making_room=False,
                                                **({"cluster": split_pool(s.job.gpu_type)[1]} if where else {}))
            self.book.forget(s.job.key)  # admitted, or changed meanwhile (then the feed has it again)
            if admitted is not None:
                metrics.ADMISSIONS.labels(admitted.gpu_type).inc()
                self.reconciler.create(admitted, self.fence)
                result.admitted.append(s.job.key)
        self._promote(d)
        t1 = time.perf_counter()
        self._explain(d, result)
        result.explain_s = time.perf_counter() - t1

    def _preempt(self, d: Decision, result: PassResult) -> None:
        grace = self.rt.policy.job_defaults.termination_grace_period_s
        for p in d.preemptions:
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
            self.rt.cluster.preempt_job(ns, name, grace, kind=old.kind)
            result.preempted.append(p.victim.key)
            audit(self.rt, "", old.team, "preemption", p.victim.key, f"ok: requeued for {p.for_key}")
            publish_card(self.rt, queued)
            # the card moves on at the next pass (a new queue reason); the thread keeps why it stopped
            self.notices.announce(queued, f"preempted-{queued.preemptions}")

    def _promote(self, d: Decision) -> None:
        """An over-quota job whose team is back under quota is no longer preemptible."""
        for key in d.promotions:
            ns, _, name = key.partition("/")
            done = self.rt.store.update(ns, name, lease=self.fence, over_quota=False)
            if done is not None and done.state in RUNNING_STATES:
                publish_card(self.rt, done)

    def _explain(self, d: Decision, result: PassResult) -> None:
        """Reasons and ETAs of the first ``eta_depth`` waiting jobs by position: worked out when the queue
        or the running set changed (or every ETA_REFRESH_S), and written (card updated) only when they
        changed meaningfully. A job further back keeps no estimate ("later")."""
        started = {s.job.key for s in d.starts}
        if all(j.key in started for j in d.queue):
            return
        fresh = d.mark == self._eta_mark[0] and time.monotonic() - self._eta_mark[1] < ETA_REFRESH_S
        if fresh and not d.preemptions:
            return
        self._eta_mark = (d.mark, time.monotonic())
        depth = self.rt.policy.scheduler.eta_depth
        explained: set[str] = set()
        todo: list[tuple[str, dict[str, Any]]] = []
        for w in explain(self.rt.policy, d, depth):
            e = self.book.index.get(w.key)
            if e is None:
                continue
            explained.add(w.key)
            reason = self._reason(w, e.reason)
            # its start waits only on GPUs being freed for it: no clock time (the simulation would
            # still count the victims' full limits) but "starting: making room"
            making_room = w.kind in ("preempting", "draining")
            eta = None if making_room else w.eta
            eta_moved = changed_meaningfully(e.eta, eta, d.state.now)
            if reason == e.reason and not eta_moved and making_room == e.making_room:
                continue
            todo.append((w.key, {"reason": reason, "eta": eta if eta_moved else e.eta, "making_room": making_room}))
        for key in sorted(self.book.index.told - explained - started):  # moved back beyond the depth
            todo.append((key, {"reason": msg.sched_later(depth), "eta": None, "making_room": False}))
        # one batch of writes and one of cards: a pass never pokes Redis or the desk once per waiting job
        written = self.rt.store.update_many(todo, lease=self.fence)
        updated = [u for u in written if u is not None and u.state == "queued"]
        for u in updated:
            self.book.note(u)
            result.updated.append(u.key)
        self.rt.desk.publish_many(updated)

    @staticmethod
    def _reason(w: Waiting, current: str | None) -> str:
        if w.kind == "preempting":
            return msg.sched_preempting(w.victims)
        if w.kind == "draining":
            return msg.sched_draining(w.gpus, pool_text(w.gpu_type))
        if w.kind == "why" and w.why is not None:
            return why_text(w.why)
        return current or ""

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
            self.book.reset()  # another replica may have dispatched meanwhile: read the whole queue again
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
