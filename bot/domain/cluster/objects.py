"""The Kubernetes objects the bot reads, as the JSON the API server sends (no client model types).

``Obj`` is any object body; the ``TypedDict``s name the fields the bot reads of nodes, pods and
Jobs (``total=False``: the API server omits empty fields, so every read has a default).
"""

from __future__ import annotations

from typing import Any, Generic, TypedDict, TypeVar

Obj = dict[str, Any]


class ObjectMeta(TypedDict, total=False):
    name: str
    namespace: str
    uid: str
    resourceVersion: str
    labels: dict[str, str]
    annotations: dict[str, str]
    creationTimestamp: str
    deletionTimestamp: str
    ownerReferences: list[Obj]


class Condition(TypedDict, total=False):
    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str
    message: str
    lastTransitionTime: str


class ResourceRequirements(TypedDict, total=False):
    limits: dict[str, str]
    requests: dict[str, str]


class Container(TypedDict, total=False):
    name: str
    image: str
    resources: ResourceRequirements


class NodeStatus(TypedDict, total=False):
    allocatable: dict[str, str]
    capacity: dict[str, str]
    conditions: list[Condition]


class Node(TypedDict, total=False):
    metadata: ObjectMeta
    status: NodeStatus


class PodSpec(TypedDict, total=False):
    nodeName: str
    containers: list[Container]


class ContainerStatus(TypedDict, total=False):
    name: str
    ready: bool
    restartCount: int
    state: Obj  # {"waiting"|"running"|"terminated": {...}}
    lastState: Obj


class PodStatus(TypedDict, total=False):
    phase: str  # Pending | Running | Succeeded | Failed | Unknown
    reason: str
    message: str
    conditions: list[Condition]
    containerStatuses: list[ContainerStatus]


class Pod(TypedDict, total=False):
    metadata: ObjectMeta
    spec: PodSpec
    status: PodStatus


class JobSpec(TypedDict, total=False):
    suspend: bool
    parallelism: int
    completions: int
    activeDeadlineSeconds: int


class JobStatus(TypedDict, total=False):
    conditions: list[Condition]
    active: int
    ready: int
    succeeded: int
    failed: int
    startTime: str
    completionTime: str


class Job(TypedDict, total=False):
    metadata: ObjectMeta
    spec: JobSpec
    status: JobStatus


T = TypeVar("T")


class ObjectList(TypedDict, Generic[T], total=False):
    """A list response: ``items`` and the list's ``metadata`` (``resourceVersion``, ``continue``)."""

    items: list[T]
    metadata: Obj
