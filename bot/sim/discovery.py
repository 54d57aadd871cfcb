"""Small fixed answers: API discovery, /version, and the kubeconfig pointing at the sim."""

from __future__ import annotations

from bot.domain.cluster.objects import Obj
from bot.sim.kueue import api as kueue_api
from bot.sim.status import RESOURCES

_VERBS = {
    "jobs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    "pods": ["delete", "get", "list", "watch", "create", "patch", "update"],
    "nodes": ["get", "list", "watch"],
    "events": ["create", "get", "list", "watch"],
    "services": ["create", "delete", "get", "list", "patch", "update"],
    "namespaces": ["create", "delete", "get", "list", "patch", "update", "watch"],
}
# kubectl resolves ``ns``, ``po``, ``svc`` and ``get all`` through these discovery fields.
_SHORT = {"pods": ["po"], "nodes": ["no"], "events": ["ev"], "services": ["svc"], "namespaces": ["ns"]}
_CATEGORIES = {"pods": ["all"], "services": ["all"], "jobs": ["all"]}
_SUBRESOURCES = {
    "": [("pods/log", "Pod", True, ["get"]), ("pods/status", "Pod", True, ["get", "patch", "update"]),
         ("namespaces/status", "Namespace", False, ["get", "patch", "update"])],
    "batch": [("jobs/status", "Job", True, ["get", "patch", "update"])],
}


def _resource_list(group_version: str, group: str) -> Obj:
    resources: list[Obj] = []
    for r in RESOURCES.values():
        if r.group != group:
            continue
        entry: Obj = {
            "name": r.plural,
            "singularName": r.kind.lower(),
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": _VERBS[r.plural],
        }
        if r.plural in _SHORT:
            entry["shortNames"] = _SHORT[r.plural]
        if r.plural in _CATEGORIES:
            entry["categories"] = _CATEGORIES[r.plural]
        resources.append(entry)
    for name, kind, namespaced, verbs in _SUBRESOURCES[group]:
        resources.append({"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": verbs})
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


def discovery(path: str, method: str, kueue: bool = False) -> Obj | None:
    """The answer for a GET on a non-resource path, or None for 404; ``kueue`` adds Kueue's groups."""
    path = path.rstrip("/")
    if kueue and (found := kueue_api.resource_list(path)) is not None:
        return found
    if path == "/version":
        return {"major": "1", "minor": "31", "gitVersion": "v1.31.0-sim", "platform": "linux/amd64"}
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if path == "/apis":
        batch = {"groupVersion": "batch/v1", "version": "v1"}
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [{"name": "batch", "versions": [batch], "preferredVersion": batch},
                       *(kueue_api.groups() if kueue else [])],
        }
    if path == "/api/v1":
        return _resource_list("v1", "")
    if path == "/apis/batch/v1":
        return _resource_list("batch/v1", "batch")
    return None


def kubeconfig_yaml(server: str, context: str = "sim") -> str:
    """A kubeconfig with one cluster, one credential-less user and a current context."""
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {context}\n  cluster:\n    server: {server}\n"
        f"users:\n- name: {context}-user\n  user: {{}}\n"
        f"contexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}-user\n"
        "    namespace: default\n"
        f"current-context: {context}\n"
    )
