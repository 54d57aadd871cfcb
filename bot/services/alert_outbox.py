"""The alert worker: folds the Redis inbox into group states, then brings Slack up to date.

Nothing accepted is lost: a body leaves ``processing`` only after it was folded, and a group leaves
the dirty set only after Slack acknowledged the version it shows (otherwise it is retried with
backoff). Storms stay bounded: new messages go through the shared Slack outbound layer (≤ 1 post
per second per channel), and a group's message is updated at most once per ``update_interval``
with its newest state — the dirty set coalesces every change in between into one ``chat.update``.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.domain.alerts.payload import GroupState, Target
from bot.domain.errors import BackendError
from bot.render.alerts import render_group
from bot.services.alert_intake import AlertFolder
from bot.services.needs import HasChat
from bot.services.ports import AlertStates

log = logging.getLogger(__name__)

SEND_TIMEOUT_S = 300.0  # a send waits this long behind its channel's backlog before it is retried
MAX_BACKOFF_S = 300.0


class AlertOutbox:
    def __init__(self, rt: HasChat, store: AlertStates, folder: AlertFolder, *, senders: int = 4,
                 update_interval: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        self.rt = rt
        self.store = store
        self.folder = folder
        self.update_interval = update_interval
        self.clock = clock
        # Daemon sender threads (not an executor): a send waiting on a Slack outage must not hold up exit.
        self._work: queue.Queue[tuple[GroupState, set[str]]] = queue.Queue()
        self._senders = [threading.Thread(target=self._sender, name=f"alert-send-{i}", daemon=True)
                         for i in range(senders)]
        self._lock = threading.Lock()
        self._busy: set[str] = set()  # groups with a send in flight (one at a time per group)
        self._posting: set[str] = set()  # channels with a new message in flight: no pile-up on one lane
        self._next_send: dict[str, float] = {}  # gid → monotonic time of its next allowed send
        self._failures: dict[str, int] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()
        for t in self._senders:
            t.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=5)
        for _ in self._senders:
            self._work.put_nowait((GroupState(gid="", group_key=""), set()))  # an empty gid: stop

    def wake(self) -> None:
        self._wake.set()

    # --- the loop --------------------------------------------------------------------------------

    def _run(self) -> None:
        recovered = False
        while not self._stopping.is_set():
            busy = False
            try:
                if not recovered:
                    if n := self.store.recover():
                        log.info("alert outbox: %d webhook(s) taken by an earlier run folded again", n)
                    recovered = True
                busy = self._fold_some() > 0
                busy = self._send_due() or busy
            except BackendError as err:
                log.warning("alert outbox: %s", err)
                self._stopping.wait(1.0)
            except Exception:  # the worker must survive anything one payload or reply does
                log.exception("alert outbox pass failed")
                self._stopping.wait(1.0)
            self._wake.wait(0.02 if busy else 0.2)
            self._wake.clear()

    def _fold_some(self, limit: int = 200) -> int:
        bodies = self.store.take(limit)
        for body in bodies:
            try:
                self.folder.fold(body)
            except BackendError:
                raise  # stays in processing; recovered on the next start
            except Exception:
                log.exception("alert outbox: dropped a body that cannot be folded")
            self.store.done(body)
        return len(bodies)

    def _send_due(self) -> bool:
        mono = time.monotonic()
        started = False
        for gid in self.store.due(self.clock()):
            with self._lock:
                if gid in self._busy or self._next_send.get(gid, 0.0) > mono:
                    continue
            state = self.store.get(gid)
            if state is None:
                self.store.forget(gid)  # expired or never kept: nothing to show
                continue
            posts = {t.channel for t in state.targets if t.ts is None}
            with self._lock:
                if posts & self._posting:
                    continue
                self._busy.add(gid)
                self._posting |= posts
                self._next_send[gid] = mono + self.update_interval
            self._work.put((state, posts))
            started = True
        return started

    # --- one send of one group -------------------------------------------------------------------

    def _sender(self) -> None:
        while True:
            state, posts = self._work.get()
            if not state.gid:
                return
            self._send(state, posts)

    def _send(self, state: GroupState, posts: set[str]) -> None:
        ok = False
        try:
            ok = self._deliver(state)
        except Exception:
            log.exception("alert group %s: send failed", state.gid)
        finally:
            with self._lock:
                self._busy.discard(state.gid)
                self._posting -= posts
            if not ok:
                self._retry_later(state.gid)
            else:
                with self._lock:
                    self._failures.pop(state.gid, None)
            self._wake.set()

    def _deliver(self, state: GroupState) -> bool:
        reply = render_group(state, self.clock())
        body = {"text": reply.text, "blocks": reply.blocks_json()}
        out = self.rt.cards
        done: list[Target] = []
        ok = True
        for t in state.targets:
            if t.ts is None:
                lane = f"dm:{t.channel}" if t.channel[:1] in "UW" else t.channel
                extra: dict[str, Any] = {"thread_ts": t.thread_ts} if t.thread_ts else {}
                resp = out.call("chat_postMessage", lane, paced=True, timeout=SEND_TIMEOUT_S,
                                channel=t.channel, **extra, **body)
                if resp and resp.get("ts"):
                    t = t.model_copy(update={"ts": str(resp["ts"]), "posted_channel": resp.get("channel")})
                else:
                    ok = False
            else:
                channel = t.posted_channel or t.channel
                resp = out.call("chat_update", channel, paced=False, timeout=SEND_TIMEOUT_S,
                                channel=channel, ts=t.ts, **body)
                ok = ok and resp is not None
            done.append(t)

        def remember(cur: GroupState | None) -> GroupState | None:
            if cur is None:
                return None
            by_place = {(t.channel, t.thread_ts): t for t in done if t.ts}
            targets = [by_place.get((t.channel, t.thread_ts), t) if t.ts is None else t for t in cur.targets]
            return cur.model_copy(update={"targets": targets}) if targets != cur.targets else None

        self.store.update(state.gid, remember, ack_version=state.version if ok else None)
        return ok

    def _retry_later(self, gid: str) -> None:
        with self._lock:
            n = self._failures[gid] = self._failures.get(gid, 0) + 1
        delay = min(MAX_BACKOFF_S, 2.0 ** min(n, 9))
        log.warning("alert group %s: Slack did not take it (attempt %d); retrying in %.0f s", gid, n, delay)
        try:
            self.store.postpone(gid, self.clock() + delay)
        except BackendError as err:
            log.warning("alert group %s: could not postpone: %s", gid, err)
