"""The garbage collector's cascade: dependents found through ``metadata.ownerReferences``, deleted with
their owner (``propagationPolicy`` Background or Foreground; ``Orphan`` leaves them)."""

from __future__ import annotations

from bot.sim.status import RESOURCES
from bot.sim.store import Store


def dependents(store: Store, namespace: str, uid: str) -> list[tuple[str, str]]:
    """(plural, name) of every object in ``namespace`` with an owner reference to ``uid``."""
    found: list[tuple[str, str]] = []
    for res in RESOURCES.values():
        if not res.namespaced:
            continue
        _rv, entries = store.list(res.plural, namespace)
        for e in entries:
            if any(o.get("uid") == uid for o in e.obj["metadata"].get("ownerReferences") or []):
                found.append((res.plural, e.obj["metadata"]["name"]))
    return found


def cascade(store: Store, namespace: str, uid: str) -> None:
    """Delete the dependents of ``uid``, theirs first (caller holds the store lock)."""
    for plural, name in dependents(store, namespace, uid):
        obj = store.get(plural, namespace, name)
        if obj is None:
            continue
        cascade(store, namespace, obj["metadata"]["uid"])
        store.delete(plural, namespace, name)
