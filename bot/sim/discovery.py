"""Small fixed answers: API discovery, /version, and the kubeconfig pointing at the sim."""

from __future__ import annotations

from bot.domain.cluster.objects import Obj
from bot.sim.kueue import api as kueue_api
from bot.sim.status import BUILTIN_GROUPS, RESOURCES

_CRUD = ["create", "delete", "get", "list", "patch", "update", "watch"]

_VERBS = {
    "jobs": ["create", "delete", "get", "list", "patch", "update", "watch"],
    "pods": ["delete", "get", "list", "watch", "create", "patch", "update"],
    "nodes": ["get", "list", "watch"],
    "events": ["create", "get", "list", "watch"],
    "services": ["create", "delete", "get", "list", "patch", "update"],
    "namespaces": ["create", "delete", "get", "list", "patch", "update", "watch"],
    "jobsets": _CRUD,
    "trainjobs": _CRUD,
    "clustertrainingruntimes": _CRUD,
}
# kubectl resolves ``ns``, ``po``, ``svc`` and ``get all`` through these discovery fields.
_SHORT = {"pods": ["po"], "nodes": ["no"], "events": ["ev"], "services": ["svc"], "namespaces": ["ns"]}
_CATEGORIES = {"pods": ["all"], "services": ["all"], "jobs": ["all"]}
_SUBRESOURCES = {
    "": [("pods/log", "Pod", True, ["get"]), ("pods/status", "Pod", True, ["get", "patch", "update"]),
         ("namespaces/status", "Namespace", False, ["get", "patch", "update"])],
    "batch": [("jobs/status", "Job", True, ["get", "patch", "update"])],
    "jobset.x-k8s.io": [("jobsets/status", "JobSet", True, ["get", "patch", "update"])],
    "trainer.kubeflow.org": [("trainjobs/status", "TrainJob", True, ["get", "patch", "update"])],
}
_SHORT_CRD = {"trainjobs": ["tj"], "clustertrainingruntimes": ["ctr"]}


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
        if r.plural in _SHORT or r.plural in _SHORT_CRD:
            entry["shortNames"] = _SHORT.get(r.plural) or _SHORT_CRD[r.plural]
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


def _group_versions(groups: frozenset[str]) -> dict[str, str]:
    """API group → its one served version, for the groups the cluster serves."""
    return {r.group: r.api_version.rsplit("/", 1)[1] for r in RESOURCES.values() if r.group and r.group in groups}


def discovery(path: str, method: str, groups: frozenset[str] = BUILTIN_GROUPS, kueue: bool = False) -> Obj | None:
    """The answer for a GET on a non-resource path, or None for 404; ``groups``: the API groups served
    (JobSet's, Trainer's when installed); ``kueue`` adds Kueue's groups."""
    path = path.rstrip("/")
    if kueue and (found := kueue_api.resource_list(path)) is not None:
        return found
    if path == "/version":
        return {"major": "1", "minor": "31", "gitVersion": "v1.31.0-sim", "platform": "linux/amd64"}
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    served = _group_versions(groups)
    if path == "/apis":
        listed = []
        for group, version in served.items():
            gv = {"groupVersion": f"{group}/{version}", "version": version}
            listed.append({"name": group, "versions": [gv], "preferredVersion": gv})
        listed += kueue_api.groups() if kueue else []
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": listed}
    if path == "/api/v1":
        return _resource_list("v1", "")
    for group, version in served.items():
        if path == f"/apis/{group}/{version}":
            return _resource_list(f"{group}/{version}", group)
        if path == f"/apis/{group}":
            gv = {"groupVersion": f"{group}/{version}", "version": version}
            return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [gv], "preferredVersion": gv}
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
