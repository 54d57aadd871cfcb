"""The apiserver's error answers: ``ApiError`` carries a Kubernetes ``Status`` object and its HTTP code."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.cluster.objects import Obj


@dataclass(frozen=True, slots=True)
class Resource:
    """One served resource: URL plural, object kind, apiVersion, API group and scope."""

    plural: str
    kind: str
    api_version: str
    group: str
    namespaced: bool = True

    @property
    def qualified(self) -> str:
        """``jobs.batch`` / ``pods``: how the apiserver names the resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCES: dict[str, Resource] = {
    "pods": Resource("pods", "Pod", "v1", ""),
    "nodes": Resource("nodes", "Node", "v1", "", namespaced=False),
    "events": Resource("events", "Event", "v1", ""),
    "services": Resource("services", "Service", "v1", ""),
    "jobs": Resource("jobs", "Job", "batch/v1", "batch"),
    "namespaces": Resource("namespaces", "Namespace", "v1", "", namespaced=False),
    # custom resources, served only when the cluster has them (``chatops sim --jobset`` / ``--trainer``)
    "jobsets": Resource("jobsets", "JobSet", "jobset.x-k8s.io/v1alpha2", "jobset.x-k8s.io"),
    "trainjobs": Resource("trainjobs", "TrainJob", "trainer.kubeflow.org/v1alpha1", "trainer.kubeflow.org"),
    "clustertrainingruntimes": Resource("clustertrainingruntimes", "ClusterTrainingRuntime",
                                        "trainer.kubeflow.org/v1alpha1", "trainer.kubeflow.org", namespaced=False),
}
BUILTIN_GROUPS = frozenset({"", "batch"})
KUEUE_GROUP = "kueue.x-k8s.io"
KUEUE_VERSION = f"{KUEUE_GROUP}/v1beta2"
# Served only by ``chatops sim --kueue``, as a cluster without Kueue has no such CRDs.
KUEUE_RESOURCES: dict[str, Resource] = {
    "resourceflavors": Resource("resourceflavors", "ResourceFlavor", KUEUE_VERSION, KUEUE_GROUP, namespaced=False),
    "clusterqueues": Resource("clusterqueues", "ClusterQueue", KUEUE_VERSION, KUEUE_GROUP, namespaced=False),
    "localqueues": Resource("localqueues", "LocalQueue", KUEUE_VERSION, KUEUE_GROUP),
    "workloads": Resource("workloads", "Workload", KUEUE_VERSION, KUEUE_GROUP),
    "workloadpriorityclasses": Resource(
        "workloadpriorityclasses", "WorkloadPriorityClass", KUEUE_VERSION, KUEUE_GROUP, namespaced=False
    ),
}


class ApiError(Exception):
    """Raised anywhere in request handling; the handler answers ``status`` with HTTP ``code``."""

    def __init__(self, code: int, reason: str, message: str, details: Obj | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    @property
    def status(self) -> Obj:
        out: Obj = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            out["details"] = self.details
        return out


def _details(res: Resource, name: str) -> Obj:
    details: Obj = {"name": name, "kind": res.plural}
    if res.group:
        details["group"] = res.group
    return details


def not_found(res: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{res.qualified} "{name}" not found', _details(res, name))


def namespace_not_found(namespace: str) -> ApiError:
    """What the NamespaceLifecycle admission answers for content created in a namespace that is not there."""
    return not_found(RESOURCES["namespaces"], namespace)


def forbidden(res: Resource, name: str, why: str) -> ApiError:
    return ApiError(403, "Forbidden", f'{res.qualified} "{name}" is forbidden: {why}', _details(res, name))


def already_exists(res: Resource, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{res.qualified} "{name}" already exists', _details(res, name))


def conflict(res: Resource, name: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {res.qualified} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again",
        _details(res, name),
    )


def invalid(res: Resource, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 Invalid with one cause per ``(field, message)``, worded like the apiserver's validation."""
    kind = f"{res.kind}.{res.group}" if res.group else res.kind
    summary = ", ".join(f"{field}: {msg}" for field, msg in causes)
    details = _details(res, name)
    details["causes"] = [{"reason": "FieldValueInvalid", "message": m, "field": f} for f, m in causes]
    if len(causes) > 1:
        summary = f"[{summary}]"
    return ApiError(422, "Invalid", f'{kind} "{name}" is invalid: {summary}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def success(res: Resource, name: str, uid: str) -> Obj:
    details = _details(res, name)
    details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}
