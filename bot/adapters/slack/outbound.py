"""The one road out to the Slack Web API: pacing, coalescing, 429 Retry-After and retries, in one place.

Rules it keeps:
- at most one new message (``chat.postMessage``, a file shared in a channel) per ``post_interval`` per
  channel: Slack allows ~1 message/s/channel (1.05 s by default: network jitter must not make two
  arrive closer than 1 s);
- ``chat.update`` and ``views.publish`` are coalesced by key ((channel, ts) or the user): only the
  newest payload is kept while one waits or is in flight, and one key is sent at most once per
  ``update_interval`` — a card that changes five times in a second costs one call, never a stale one;
- a 429 blocks its lane (the channel, or the user's view) for Retry-After seconds, then the same call
  is retried; 5xx and connection errors are retried with backoff. A final card state is newest, so
  coalescing never drops it, and retries give up only after ``max_attempts`` (logged).

Worker threads take ready tasks from one shared schedule under one condition variable. The
``WebClient`` is built without retry handlers: a handler sleeping inside a worker would hold a call
past its turn and the pacing would no longer be ours.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import metrics
from bot.adapters.slack.calls import invoke
from bot.adapters.slack.tasks import PAUSE_CAP_S, UNSURE, Stats, Task, retry_after

log = logging.getLogger(__name__)

class Outbound:
    def __init__(self, client: WebClient, *, post_interval: float = 1.05, update_interval: float = 1.0,
                 workers: int = 4, max_attempts: int = 8, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.post_interval = post_interval
        self.update_interval = update_interval
        self.max_attempts = max_attempts
        self.stats = Stats()
        self._clock = clock
        self._cond = threading.Condition()
        self._posts: dict[str, deque[Task]] = {}  # lane → paced tasks, FIFO
        self._plain: deque[Task] = deque()  # neither paced nor coalesced (ephemeral, conversations.open)
        self._keyed: OrderedDict[tuple[str, ...], Task] = OrderedDict()  # newest payload per key
        self._next_post: dict[str, float] = {}  # lane → earliest next new message
        self._next_key: dict[tuple[str, ...], float] = {}  # key → earliest next send
        self._blocked: dict[str, float] = {}  # lane → 429 until
        self._busy_lanes: set[str] = set()  # a paced call in flight holds its lane
        self._busy_keys: set[tuple[str, ...]] = set()
        self._inflight = 0
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"slack-out-{i}", daemon=True)
                         for i in range(workers)]
        for t in self._threads:
            t.start()

    # --- enqueueing ------------------------------------------------------------------------------

    def call(self, method: str, lane: str, *, paced: bool, timeout: float | None = None,
             **kwargs: Any) -> dict[str, Any] | None:
        """Send now-or-at-our-turn and wait for Slack's answer (None when Slack refused or gave up)."""
        fut: Future[dict[str, Any] | None] = Future()
        self._add(Task(method, kwargs, lane, paced, future=fut))
        try:
            return fut.result(timeout)
        except TimeoutError:
            log.warning("%s to %s still queued after %s s; it is sent later", method, lane, timeout)
            return None

    def submit(self, method: str, lane: str, *, paced: bool, retry_unsure: bool = True,
               **kwargs: Any) -> Future[dict[str, Any] | None]:
        """Queue a call and return its future at once (the caller waits as it likes, never losing track)."""
        fut: Future[dict[str, Any] | None] = Future()
        self._add(Task(method, kwargs, lane, paced, future=fut, retry_unsure=retry_unsure))
        return fut

    def send(self, method: str, lane: str, *, paced: bool, supersedes: tuple[str, ...] | None = None,
             **kwargs: Any) -> None:
        """Fire and forget (a thread reply, a DM, an ephemeral).

        With ``supersedes``, a post of the same key still waiting for its turn is replaced by this one,
        at its place in the lane: in a backlog a job's "started" reply gives way to its final one."""
        self._add(Task(method, kwargs, lane, paced, supersedes=supersedes))

    def coalesce(self, method: str, lane: str, key: tuple[str, ...], origin: float | None = None,
                 on_done: Callable[[], None] | None = None, **kwargs: Any) -> None:
        """Send the newest ``kwargs`` for ``key``; a pending older payload is replaced (and so is its
        ``on_done``: the newest one stands for both)."""
        with self._cond:
            old = self._keyed.pop(key, None)
            if old is not None:
                self.stats.coalesced += 1
                # the lag of a coalesced call counts from the oldest change it carries
                origin = old.origin if old.origin is not None else origin
            self._keyed[key] = Task(method, kwargs, lane, False, key=key, origin=origin, on_done=on_done)
            self._cond.notify()

    def _add(self, task: Task) -> None:
        with self._cond:
            if task.paced:
                lane = self._posts.setdefault(task.lane, deque())
                if task.supersedes is not None:
                    for i, waiting in enumerate(lane):
                        if waiting.supersedes == task.supersedes:
                            lane[i] = task
                            self.stats.coalesced += 1
                            self._cond.notify()
                            return
                lane.append(task)
            else:
                self._plain.append(task)
            self._cond.notify()

    # --- scheduling ------------------------------------------------------------------------------

    def _pending(self) -> int:
        return sum(len(q) for q in self._posts.values()) + len(self._plain) + len(self._keyed)

    def _take(self, now: float) -> tuple[Task | None, float]:
        """A task whose turn has come, or None and how long until the next one may be."""
        wake = now + 5.0
        for task in self._plain:
            if self._blocked.get(task.lane, 0.0) <= now and task.not_before <= now:
                self._plain.remove(task)
                return task, now
            wake = min(wake, max(self._blocked.get(task.lane, 0.0), task.not_before))
        for lane, queue in self._posts.items():
            if not queue or lane in self._busy_lanes:
                continue
            at = max(self._next_post.get(lane, 0.0), self._blocked.get(lane, 0.0), queue[0].not_before)
            if at <= now:
                self._busy_lanes.add(lane)
                return queue.popleft(), now
            wake = min(wake, at)
        for key, task in self._keyed.items():
            if key in self._busy_keys:
                continue
            at = max(self._next_key.get(key, 0.0), self._blocked.get(task.lane, 0.0), task.not_before)
            if at <= now:
                del self._keyed[key]
                self._busy_keys.add(key)
                return task, now
            wake = min(wake, at)
        return None, wake

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed and not self._pending():
                        return
                    now = self._clock()
                    task, wake = self._take(now)
                    if task is not None:
                        break
                    self._cond.wait(max(0.001, wake - now))
                self._inflight += 1
                if task.paced:  # the turn is taken when the call leaves, so arrival spacing holds
                    self._next_post[task.lane] = now + self.post_interval
            try:
                self._run(task)
            finally:
                with self._cond:
                    self._inflight -= 1
                    if task.paced:
                        self._busy_lanes.discard(task.lane)
                    if task.key is not None:
                        self._busy_keys.discard(task.key)
                        self._next_key[task.key] = self._clock() + self.update_interval
                    self._cond.notify_all()

    # --- one call --------------------------------------------------------------------------------

    def _run(self, task: Task) -> None:
        task.attempts += 1
        sent_at = self._clock()
        try:
            resp = invoke(self.client, task.method, task.kwargs)
        except SlackApiError as err:
            self._failed(task, err.response.status_code, err.response.headers, str(err.response.get("error")))
            return
        except (URLError, OSError, TimeoutError) as err:
            self._failed(task, None, {}, type(err).__name__)
            return
        except Exception:  # a bug or a client-side refusal: never let it kill a worker thread
            log.exception("Slack %s on %s could not be sent", task.method, task.lane)
            self._failed(task, 400, {}, "client error")
            return
        metrics.SLACK_CALLS.labels(task.method, "ok").inc()
        with self._cond:
            self.stats.calls[task.method] = self.stats.calls.get(task.method, 0) + 1
            if task.origin is not None:
                self.stats.lags.append(sent_at - task.origin)
        if task.future is not None:
            task.future.set_result(dict(resp.data) if isinstance(resp.data, dict) else {})
        self._done(task)

    def _done(self, task: Task) -> None:
        if task.on_done is not None:
            try:
                task.on_done()
            except Exception:  # the caller's bookkeeping must not kill a worker thread
                log.exception("after Slack %s on %s: the completion hook failed", task.method, task.lane)

    def _failed(self, task: Task, status: int | None, headers: Any, error: str) -> None:
        now = self._clock()
        metrics.SLACK_CALLS.labels(task.method, "rate_limited" if status == 429 else "error").inc()
        if status == 429:
            metrics.SLACK_RATE_LIMITED.labels(task.method).inc()
        transient = status is None or status == 429 or status >= 500
        if transient and status != 429 and not task.retry_unsure:
            log.warning("Slack %s on %s: no clear answer (%s, HTTP %s); the caller checks", task.method,
                        task.lane, error, status)
            if task.future is not None:
                task.future.set_result(dict(UNSURE))
            return
        if not transient or task.attempts >= self.max_attempts:
            with self._cond:
                self.stats.dropped += 1
            log.warning("Slack %s on %s failed for good (%s, HTTP %s)", task.method, task.lane, error, status)
            if task.future is not None:
                # a caller that looks before retrying keeps what it owes when Slack was only busy
                gave_up = transient and not task.retry_unsure
                task.future.set_result(dict(UNSURE) if gave_up else None)
            if not transient:
                self._done(task)  # refused for good: nothing more will come of it
            return
        with self._cond:
            if status == 429:
                self.stats.rate_limited += 1
                pause = retry_after(headers)
                self._blocked[task.lane] = max(self._blocked.get(task.lane, 0.0), now + pause)
            else:
                self.stats.retried += 1
                task.not_before = now + min(PAUSE_CAP_S, 0.2 * 2 ** (task.attempts - 1))
            self._requeue(task)
            self._cond.notify_all()

    def _requeue(self, task: Task) -> None:
        """Back at the front of its queue; a newer payload for the same key wins over the retry."""
        if task.key is not None:
            if task.key not in self._keyed:
                self._keyed[task.key] = task
                self._keyed.move_to_end(task.key, last=False)
        elif task.paced:
            self._posts.setdefault(task.lane, deque()).appendleft(task)
        else:
            self._plain.appendleft(task)

    def pending_updates(self) -> int:
        """Coalesced payloads waiting or in flight."""
        with self._cond:
            return len(self._keyed) + len(self._busy_keys)

    def pending_posts(self) -> int:
        """New messages waiting for their channel's turn."""
        with self._cond:
            return sum(len(q) for q in self._posts.values())

    # --- draining --------------------------------------------------------------------------------

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued call was sent (or given up); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending() or self._inflight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
            return True

    def close(self, timeout: float = 10.0) -> None:
        self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout=1.0)
