"""One subscriber's queue of watch events, fed by the store under its lock, drained by an HTTP thread."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable

from bot.domain.cluster.objects import Obj


class Entry:
    """A stored object plus its JSON, encoded at most once: lists and watches reuse the bytes."""

    __slots__ = ("_raw", "obj")

    def __init__(self, obj: Obj) -> None:
        self.obj = obj
        self._raw: bytes | None = None

    def raw(self) -> bytes:
        # Stored objects are never mutated in place, so caching is safe; a racing double encode is harmless.
        if self._raw is None:
            self._raw = json.dumps(self.obj, separators=(",", ":")).encode()
        return self._raw


class Watcher:
    """Events for one watch request; ``next`` blocks until an event, a close, or the timeout."""

    def __init__(self, kind: str, namespace: str | None, match: Callable[[Obj], bool]) -> None:
        self.kind = kind
        self.namespace = namespace
        self.match = match
        self._events: deque[tuple[str, Entry]] = deque()
        self._cond = threading.Condition()
        self._closed = False

    def wants(self, namespace: str) -> bool:
        return self.namespace is None or self.namespace == namespace

    def push(self, event_type: str, entry: Entry) -> None:
        if not self.match(entry.obj):
            return
        with self._cond:
            self._events.append((event_type, entry))
            self._cond.notify()

    def push_many(self, events: list[tuple[str, Entry]]) -> None:
        with self._cond:
            self._events.extend(events)
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def drain(self, deadline: float) -> list[tuple[str, Entry]] | None:
        """All queued events (waiting until ``deadline`` for one); ``None`` once closed or timed out."""
        with self._cond:
            while not self._events and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            if not self._events:
                return None
            out = list(self._events)
            self._events.clear()
            return out
