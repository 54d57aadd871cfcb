"""Small fixed answers: API discovery, /version, namespaces, and the kubeconfig pointing at the sim."""

from __future__ import annotations

from typing import Any

from bot.sim.status import RESOURCES

Obj = dict[str, Any]

_VERBS = {
    "jobs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    "pods": ["delete", "get", "list", "watch", "create", "patch", "update"],
    "nodes": ["get", "list", "watch"],
    "events": ["create", "get", "list", "watch"],
    "services": ["create", "delete", "get", "list", "patch", "update"],
}


def _resource_list(group_version: str, group: str) -> Obj:
    resources = [
        {
            "name": r.plural,
            "singularName": r.kind.lower(),
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": _VERBS[r.plural],
        }
        for r in RESOURCES.values()
        if r.group == group
    ]
    if group == "":
        resources.append(
            {"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]}
        )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }


def _namespace(name: str) -> Obj:
    return {
        "kind": "Namespace",
        "apiVersion": "v1",
        "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def discovery(path: str, method: str) -> Obj | None:
    """The answer for a GET on a non-resource path, or None for 404."""
    path = path.rstrip("/")
    if path == "/version":
        return {"major": "1", "minor": "31", "gitVersion": "v1.31.0-sim", "platform": "linux/amd64"}
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if path == "/apis":
        batch = {"groupVersion": "batch/v1", "version": "v1"}
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [{"name": "batch", "versions": [batch], "preferredVersion": batch}],
        }
    if path == "/api/v1":
        return _resource_list("v1", "")
    if path == "/apis/batch/v1":
        return _resource_list("batch/v1", "batch")
    if path == "/api/v1/namespaces":
        return {
            "kind": "NamespaceList",
            "apiVersion": "v1",
            "metadata": {},
            "items": [_namespace(n) for n in ("default", "kube-system")],
        }
    if path.startswith("/api/v1/namespaces/") and path.count("/") == 4:
        # Every namespace exists in the sim: the bot's namespace checks should pass.
        return _namespace(path.rsplit("/", 1)[1])
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
