"""What ``--kueue`` adds to the API surface: discovery for ``kueue.x-k8s.io/v1beta2`` and
``visibility.kueue.x-k8s.io/v1beta2``, their OpenAPI v3 documents, and the ``pendingworkloads`` answers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

from bot.domain.cluster.objects import Obj
from bot.sim import openapi
from bot.sim import status as st
from bot.sim.status import KUEUE_GROUP, KUEUE_RESOURCES, KUEUE_VERSION

if TYPE_CHECKING:
    from bot.sim.cluster import SimCluster

VISIBILITY_GROUP = f"visibility.{KUEUE_GROUP}"
VISIBILITY_VERSION = f"{VISIBILITY_GROUP}/v1beta2"
_SHORT = {"clusterqueues": ["cq"], "localqueues": ["queue", "queues", "lq"], "workloads": ["wl"],
          "resourceflavors": ["flavor", "flavors", "rf"]}
_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def groups() -> list[Obj]:
    """The two entries ``/apis`` gains."""
    out = []
    for name, gv in ((KUEUE_GROUP, KUEUE_VERSION), (VISIBILITY_GROUP, VISIBILITY_VERSION)):
        version = {"groupVersion": gv, "version": "v1beta2"}
        out.append({"name": name, "versions": [version], "preferredVersion": version})
    return out


def resource_list(path: str) -> Obj | None:
    if path == f"/apis/{KUEUE_VERSION}":
        resources: list[Obj] = []
        for r in KUEUE_RESOURCES.values():
            entry: Obj = {"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced,
                          "kind": r.kind, "verbs": _VERBS}
            if r.plural in _SHORT:
                entry["shortNames"] = _SHORT[r.plural]
            resources.append(entry)
            if r.plural in ("clusterqueues", "localqueues", "workloads"):
                resources.append({"name": f"{r.plural}/status", "singularName": "", "namespaced": r.namespaced,
                                  "kind": r.kind, "verbs": ["get", "patch", "update"]})
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": KUEUE_VERSION, "resources": resources}
    if path == f"/apis/{VISIBILITY_VERSION}":
        resources = []
        for plural, kind, namespaced in (("clusterqueues", "ClusterQueue", False), ("localqueues", "LocalQueue", True)):
            resources.append({"name": plural, "singularName": kind.lower(), "namespaced": namespaced,
                              "kind": kind, "verbs": []})
            resources.append({"name": f"{plural}/pendingworkloads", "singularName": "", "namespaced": namespaced,
                              "kind": "PendingWorkloadsSummary", "verbs": ["get"]})
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": VISIBILITY_VERSION,
                "resources": resources}
    return None


def pending_route(path: str) -> tuple[str | None, str] | None:
    """``(namespace, localqueue)`` or ``(None, clusterqueue)`` for a pendingworkloads URL, else None."""
    parts = [p for p in path.split("/") if p]
    if parts[:3] != ["apis", VISIBILITY_GROUP, "v1beta2"] or parts[-1:] != ["pendingworkloads"]:
        return None
    rest = parts[3:-1]
    if len(rest) == 2 and rest[0] == "clusterqueues":
        return None, rest[1]
    if len(rest) == 4 and rest[0] == "namespaces" and rest[2] == "localqueues":
        return rest[1], rest[3]
    return None


def summary(pending: list[Obj], namespace: str | None, queue: str, query: dict[str, str]) -> Obj:
    """A PendingWorkloadsSummary: positions in the ClusterQueue and in the LocalQueue, ``limit``/``offset``."""
    items: list[Obj] = []
    per_lq: dict[tuple[str, str], int] = {}
    for pos, wl in enumerate(pending):
        meta = wl["metadata"]
        lq_key = (meta["namespace"], str(wl["spec"].get("queueName")))
        lq_pos = per_lq.get(lq_key, 0)
        per_lq[lq_key] = lq_pos + 1
        if namespace is not None and lq_key != (namespace, queue):
            continue
        items.append({"metadata": {"name": meta["name"], "namespace": meta["namespace"],
                                   "creationTimestamp": meta.get("creationTimestamp"),
                                   "ownerReferences": meta.get("ownerReferences") or []},
                      "priority": int(wl["spec"].get("priority") or 0), "localQueueName": lq_key[1],
                      "positionInClusterQueue": pos, "positionInLocalQueue": lq_pos})
    for key in ("limit", "offset"):
        if query.get(key) and not query[key].isdigit():
            raise st.bad_request(f"invalid {key} {query[key]!r}")
    offset, limit = int(query.get("offset") or 0), int(query.get("limit") or 1000)
    return {"kind": "PendingWorkloadsSummary", "apiVersion": VISIBILITY_VERSION, "metadata": {},
            "items": items[offset:offset + limit]}


@cache
def openapi_document() -> bytes:
    """A structural-enough document: the kinds' GVKs and paths, bodies kept as they are (like a CRD's
    ``x-kubernetes-preserve-unknown-fields``), so ``kubectl apply`` validates against the server."""
    schemas: Obj = {}
    paths: Obj = {}
    for r in KUEUE_RESOURCES.values():
        name = f"io.x-k8s.kueue.v1beta2.{r.kind}"
        gvk = [{"group": KUEUE_GROUP, "version": "v1beta2", "kind": r.kind}]
        schemas[name] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                         "x-kubernetes-group-version-kind": gvk}
        base = f"/apis/{KUEUE_VERSION}" + ("/namespaces/{namespace}" if r.namespaced else "")
        ref = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
        params = [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}]
        op = {"parameters": params, "responses": {"200": {"description": "OK", **ref}},
              "x-kubernetes-group-version-kind": gvk[0]}
        paths[f"{base}/{r.plural}"] = {"get": {**op, "x-kubernetes-action": "list"},
                                       "post": {**op, "x-kubernetes-action": "post"}}
        paths[f"{base}/{r.plural}/{{name}}"] = {a: {**op, "x-kubernetes-action": x} for a, x in
                                                (("get", "get"), ("put", "put"), ("patch", "patch"),
                                                 ("delete", "delete"))}
    doc = {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.31.0"}, "paths": paths,
           "components": {"schemas": schemas}}
    return json.dumps(doc, separators=(",", ":")).encode()


Record = Callable[[str, str | None, str, str, int], None]  # (resource, namespace, name, subresource, code)


def get(cluster: SimCluster, path: str, query: dict[str, str], record: Record) -> bytes | None:
    """What ``--kueue`` answers beside its kinds: pendingworkloads, and ``/openapi/v3`` with Kueue's group."""
    path = path.rstrip("/")
    if path == "/openapi/v3":
        index = openapi.index()
        digest = hashlib.sha512(openapi_document()).hexdigest().upper()
        index["paths"][f"apis/{KUEUE_VERSION}"] = {
            "serverRelativeURL": f"/openapi/v3/apis/{KUEUE_VERSION}?hash={digest}"}
        return json.dumps(index, separators=(",", ":")).encode()
    if path == f"/openapi/v3/apis/{KUEUE_VERSION}":
        return openapi_document()
    where = pending_route(path)
    if where is None:
        return None
    namespace, name = where
    resource = "localqueues" if namespace else "clusterqueues"
    try:
        answer = pending_answer(cluster, namespace, name, query)
    except st.ApiError as err:
        record(resource, namespace, name, "pendingworkloads", err.code)
        raise
    record(resource, namespace, name, "pendingworkloads", 200)
    return json.dumps(answer, separators=(",", ":")).encode()


def pending_answer(cluster: SimCluster, namespace: str | None, name: str, query: dict[str, str]) -> Obj:
    """``pendingworkloads`` of a LocalQueue (``namespace`` given) or a ClusterQueue; 404 when it is not there."""
    kueue = cluster.kueue
    assert kueue is not None
    if namespace is None:
        pending = kueue.visible(name)
    else:
        lq = cluster.store.get("localqueues", namespace, name)
        pending = kueue.visible(str(((lq or {}).get("spec") or {}).get("clusterQueue", ""))) if lq else None
    if pending is None:
        raise st.not_found(KUEUE_RESOURCES["localqueues" if namespace else "clusterqueues"], name)
    return summary(pending, namespace, name, query)
