"""core/v1 Events as the controllers and kubelet write them, deduplicated by (object, reason, message)."""

from __future__ import annotations

import secrets
from collections import deque

from bot.domain.cluster.objects import Obj
from bot.sim.clock import SimClock
from bot.sim.store import Store


class EventRecorder:
    """Writes Events into the store; keeps at most ``max_events`` (oldest deleted, like the event TTL)."""

    def __init__(self, store: Store, clock: SimClock, max_events: int = 20_000) -> None:
        self.store = store
        self.clock = clock
        self.max_events = max_events
        self._by_key: dict[tuple[str, str, str], tuple[str, str]] = {}
        self._order: deque[tuple[tuple[str, str, str], str, str]] = deque()

    def record(
        self, obj: Obj, event_type: str, reason: str, message: str, component: str, host: str | None = None
    ) -> None:
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        key = (meta.get("uid", ""), reason, message)
        now = self.clock.iso()
        existing = self._by_key.get(key)
        if existing is not None:

            def bump(ev: Obj) -> None:
                ev["count"] = int(ev.get("count", 1)) + 1
                ev["lastTimestamp"] = now

            if self.store.mutate("events", existing[0], existing[1], bump) is not None:
                return
        name = f"{meta['name']}.{secrets.token_hex(8)}"
        source: Obj = {"component": component}
        if host:
            source["host"] = host
        event: Obj = {
            "kind": "Event",
            "apiVersion": "v1",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": {
                "kind": obj.get("kind", ""),
                "namespace": ns,
                "name": meta["name"],
                "uid": meta.get("uid", ""),
                "apiVersion": obj.get("apiVersion", "v1"),
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "type": event_type,
            "reportingComponent": component,
            "reportingInstance": host or "",
        }
        self.store.create("events", event)
        self._by_key[key] = (ns, name)
        self._order.append((key, ns, name))
        while len(self._order) > self.max_events:
            old_key, old_ns, old_name = self._order.popleft()
            self._by_key.pop(old_key, None)
            self.store.delete("events", old_ns, old_name)
