"""core/v1 Namespaces: the object, the NamespaceLifecycle admission check, and namespace deletion."""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain.cluster.objects import Obj
from bot.sim import status as st
from bot.sim.status import KUEUE_RESOURCES, RESOURCES
from bot.sim.store import Store, clone

NAMESPACES = RESOURCES["namespaces"]
# Created by the control plane at start; the apiserver refuses to delete them.
SYSTEM = ("default", "kube-system")
UNDELETABLE = ("default", "kube-system", "kube-public")
# Kinds whose objects live in a namespace and go with it.
_ALL = {**RESOURCES, **KUEUE_RESOURCES}
CONTENT = tuple(r.plural for r in _ALL.values() if r.namespaced)


def default_namespace(obj: Obj) -> None:
    """What the apiserver fills in on create: the name label, the ``kubernetes`` finalizer, Active."""
    meta = obj["metadata"]
    meta["labels"] = {**(meta.get("labels") or {}), "kubernetes.io/metadata.name": meta["name"]}
    spec = obj.setdefault("spec", {})
    spec.setdefault("finalizers", ["kubernetes"])
    obj["status"] = {"phase": "Active"}


def ensure(store: Store, names: Iterable[str]) -> None:
    """Create the namespaces that are not there yet (the sim's start-up, like the control plane's)."""
    for name in names:
        if store.get("namespaces", "", name) is None:
            obj: Obj = {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": name}}
            default_namespace(obj)
            store.create("namespaces", obj)


def admit(store: Store, res_plural: str, name: str, namespace: str | None) -> None:
    """NamespaceLifecycle: content may only be created in a namespace that exists and is not going away."""
    if namespace is None:
        return
    ns = store.get("namespaces", "", namespace)
    if ns is None:
        raise st.namespace_not_found(namespace)
    if ns.get("status", {}).get("phase") == "Terminating":
        raise st.forbidden(
            _ALL[res_plural],
            name,
            f"unable to create new content in namespace {namespace} because it is being terminated",
        )


def delete(store: Store, name: str) -> Obj:
    """Mark the namespace Terminating, delete its content, then drop it (its finalizer done).

    The namespace controller does this asynchronously; here it finishes within the request, so a
    watcher sees MODIFIED (Terminating) and then DELETED, and the answer is the Terminating object.
    """
    if name in UNDELETABLE:
        raise st.forbidden(NAMESPACES, name, "this namespace may not be deleted")
    with store.lock:
        current = store.get("namespaces", "", name)
        if current is None:
            raise st.not_found(NAMESPACES, name)
        if current.get("status", {}).get("phase") == "Terminating":
            return current

        def terminating(obj: Obj) -> None:
            obj["metadata"]["deletionTimestamp"] = store.now()
            obj["status"] = {"phase": "Terminating"}

        marked = store.mutate("namespaces", "", name, terminating)
        answer = clone(marked)
        for kind in CONTENT:
            _rv, entries = store.list(kind, name)
            for entry in entries:
                store.delete(kind, name, entry.obj["metadata"]["name"])
        store.delete("namespaces", "", name)
        return answer  # type: ignore[no-any-return]
