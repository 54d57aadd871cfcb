"""The watcher: three watches (Jobs, pods, Warning events) → the informer cache → one reaction per
changed job: a compare-and-set transition in Redis, the card updated, thread replies, a dispatcher wake.

Threads: one per watch (``KindWatch.run``) only write the cache and mark jobs dirty; ``reactors``
threads take dirty jobs (one job is never handled by two at once, so its changes apply in order)
and do the Redis and Slack work. A job marked dirty again while waiting is handled once, with the
cache's newest picture. Replays (reconnects, relists, restarts) are harmless: transitions are CAS
from the states they may come from, and thread replies are marked once-only in Redis.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.domain.cluster.job_states import observe
from bot.domain.cluster.manifests import MANAGED_BY_SELECTOR
from bot.domain.cluster.watch_spec import WatchSpec
from bot.domain.cluster.workload_view import Progress, progress
from bot.domain.cluster.workloads import workload_plurals
from bot.domain.errors import BackendError
from bot.domain.jobs import JobRecord
from bot.services.cards import publish_card
from bot.services.home import HomeService
from bot.services.informer import Informer
from bot.services.needs import WatcherPorts
from bot.services.notices import Notices, notice_store
from bot.services.reactions import Reaction, react

log = logging.getLogger(__name__)

MAX_WAITS = 10  # then a job failed without a known pod failure is explained as it is
KUEUE_CATCH_UP_S = 0.2  # Kueue admitted and started a job the dispatcher still has queued
RETRY_S = 1.0  # a reaction that could not finish (card not posted yet, Redis down) is tried again


class Watcher:
    def __init__(self, rt: WatcherPorts, *, reactors: int = 4,
                 on_reaction: Callable[[str, Reaction], None] | None = None,
                 start_watches: bool = True) -> None:
        self.rt = rt
        namespaces = {t.namespace for t in rt.policy.teams.values()}
        self.informer = Informer(namespaces or None)
        marks = notice_store(rt)
        self.notices = Notices(rt, marks)
        self.home = HomeService(rt, marks)
        self.on_reaction = on_reaction
        self.reactions = 0
        self._start_watches = start_watches
        self._cond = threading.Condition()
        self._dirty: dict[str, float] = {}  # job key → monotonic time of its oldest unhandled change
        self._busy: set[str] = set()
        # job key → the observation last applied in full: an unchanged picture costs no Redis call
        self._applied: dict[str, tuple[Any, ...]] = {}
        self._waits: dict[str, int] = {}  # job key → reactions in a row that asked to be retried
        self._later: list[tuple[float, str]] = []  # (due, job key) heap
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.watches = [
            rt.cluster.watch(WatchSpec("jobs", label_selector=MANAGED_BY_SELECTOR), self._reset, self._event),
            rt.cluster.watch(WatchSpec("pods", label_selector=MANAGED_BY_SELECTOR), self._reset, self._event),
            # Events carry no labels: Warning events only, narrowed to our pods and Jobs by the informer.
            rt.cluster.watch(WatchSpec("events", field_selector="type=Warning"), self._reset, self._event),
            # JobSets and TrainJobs only when the policy makes them: a cluster without their CRDs answers 404
            *(rt.cluster.watch(WatchSpec(plural, label_selector=MANAGED_BY_SELECTOR), self._reset, self._event)
              for plural in workload_plurals(rt.policy)),
        ]
        self._kueue = rt.policy.scheduler.mode == "kueue"
        if self._kueue:  # Kueue's decisions are the dispatcher's to follow
            self.watches.append(rt.cluster.watch(WatchSpec("workloads"), self._kueue_reset, self._kueue_event))
        self._reactors = reactors

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        if self._start_watches:
            for w in self.watches:
                self._spawn(w.run, f"watch-{w.spec.kind}")
        for i in range(self._reactors):
            self._spawn(self._react_loop, f"watch-react-{i}")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        t = threading.Thread(target=target, name=name, daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        for w in self.watches:
            w.stop()
        with self._cond:
            self._cond.notify_all()
        deadline = time.monotonic() + 5.0  # one deadline for all threads, not 5 s each
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))

    # --- from the watch threads ------------------------------------------------------------------

    def _reset(self, kind: str, items: list[dict[str, Any]]) -> None:
        keys = self.informer.apply_reset(kind, items)
        with self._cond:  # after a relist every job is looked at afresh, against Redis
            for key in keys:
                self._applied.pop(key, None)
        self._mark(keys)

    def _kueue_reset(self, kind: str, items: list[dict[str, Any]]) -> None:
        self.rt.wake_dispatcher()

    def _kueue_event(self, kind: str, event_type: str, obj: dict[str, Any]) -> None:
        self.rt.wake_dispatcher()

    def _remember(self, key: str, seen: tuple[Any, ...]) -> None:
        with self._cond:
            if self._informer_has(key):
                self._applied[key] = seen
            else:
                self._applied.pop(key, None)  # the job is gone from the cluster: forget it

    def _informer_has(self, key: str) -> bool:
        return key in self.informer.jobs or key in self.informer.pods_by_job

    def _event(self, kind: str, event_type: str, obj: dict[str, Any]) -> None:
        self._mark(self.informer.apply_event(kind, event_type, obj))

    def _mark(self, keys: set[str], at: float | None = None) -> None:
        if not keys:
            return
        now = time.monotonic() if at is None else at
        with self._cond:
            for key in keys:
                self._dirty.setdefault(key, now)
            self._cond.notify_all()

    def later(self, key: str, delay: float) -> None:
        with self._cond:
            heapq.heappush(self._later, (time.monotonic() + delay, key))
            self._cond.notify_all()

    def idle(self) -> bool:
        """Nothing dirty and nothing being handled (delayed rechecks aside): for tests and benchmarks."""
        with self._cond:
            return not self._dirty and not self._busy

    # --- the reactors ----------------------------------------------------------------------------

    def _take(self) -> tuple[str, float] | None:
        with self._cond:
            while not self._stop.is_set():
                now = time.monotonic()
                while self._later and self._later[0][0] <= now:
                    _due, key = heapq.heappop(self._later)
                    self._dirty.setdefault(key, now)
                for key, origin in self._dirty.items():
                    if key not in self._busy:
                        del self._dirty[key]
                        self._busy.add(key)
                        return key, origin
                wait = (self._later[0][0] - now) if self._later else 1.0
                self._cond.wait(max(0.001, min(wait, 1.0)))
            return None

    def _react_loop(self) -> None:
        while (taken := self._take()) is not None:
            key, origin = taken
            try:
                self.handle(key, origin)
            except BackendError as err:
                log.warning("watcher: %s could not be handled (%s); again in %.0f s", key, err, RETRY_S)
                self.later(key, RETRY_S)
            except Exception:
                log.exception("watcher: reaction to %s crashed; again in %.0f s", key, RETRY_S)
                self.later(key, RETRY_S)
            finally:
                with self._cond:
                    self._busy.discard(key)
                    self._cond.notify_all()

    def handle(self, key: str, origin: float | None = None) -> Reaction | None:
        """React to the newest picture of one job."""
        job, pods, events = self.informer.view(key)
        obs = observe(job, pods, events)
        reported = progress(job)
        seen = (obs.phase, tuple(obs.node_names), obs.waiting, obs.failure, reported)
        if self._applied.get(key) == seen:
            return None  # a change that does not change the picture (a status count, a repeated event)
        namespace, _, name = key.partition("/")
        record = self.rt.store.get(namespace, name)
        if record is None or record.state == "queued":
            if record is not None and self._kueue and obs.phase not in ("admitted", "preempted", "gone"):
                # Kueue started it before the dispatcher followed the admission: look again soon
                self.rt.wake_dispatcher()
                self.later(key, KUEUE_CATCH_UP_S)
            return None  # not ours, or not started by the dispatcher yet
        waits = self._waits.get(key, 0)
        reaction = react(self.rt, self.notices, record, obs, pods, origin, patient=waits < MAX_WAITS)
        if reported is not None:
            self._show_progress(namespace, name, reported)
        self.reactions += 1
        if reaction.retry_in is not None:
            self._waits[key] = waits + 1
            self.later(key, reaction.retry_in)
        else:
            self._waits.pop(key, None)
            self._remember(key, seen)
        if reaction.finished:
            self.rt.wake_dispatcher()  # GPUs are free: queued jobs may start
        if reaction.changed is not None:
            self._refresh_home(reaction.changed)
        if self.on_reaction is not None:
            self.on_reaction(key, reaction)
        return reaction

    def _show_progress(self, namespace: str, name: str, reported: Progress) -> None:
        """A TrainJob's trainer reported progress: on the record, and so on the card."""
        r = self.rt.store.get(namespace, name)
        if r is None or r.state not in ("running", "succeeded"):
            return
        if (r.trainer_progress, r.trainer_remaining_s) == (reported.percent, reported.remaining_s):
            return
        updated = self.rt.store.update(namespace, name, trainer_progress=reported.percent,
                                       trainer_remaining_s=reported.remaining_s)
        if updated is not None:
            publish_card(self.rt, updated)

    def _refresh_home(self, r: JobRecord) -> None:
        try:
            self.home.refresh(r.owner)
        except BackendError as err:
            log.warning("home tab of %s not refreshed: %s", r.owner, err)

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until no job is dirty or being handled; for tests, the benchmark and shutdown."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle():
                return True
            time.sleep(0.01)
        return False

