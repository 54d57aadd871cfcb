"""The custom resources the bot creates (JobSet, TrainJob) through the client's ``CustomObjectsApi``.

Which group, version and plural a kind has comes from the domain modules; a kind the cluster does not
serve (its CRD not installed) answers 404 to a list, which reads as "none of those here".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubernetes import client as k8s

from bot.domain.cluster import jobset, trainjob


@dataclass(frozen=True)
class Kind:
    group: str
    version: str
    plural: str


KINDS: dict[str, Kind] = {  # record kind (and object kind) → where it is served
    "jobset": Kind(jobset.GROUP, jobset.VERSION, jobset.PLURAL),
    "trainjob": Kind(trainjob.GROUP, trainjob.VERSION, trainjob.PLURAL),
}
KINDS_VIEW = {"jobset": "JobSet", "trainjob": "TrainJob"}  # record kind → object kind
BY_OBJECT_KIND = {"JobSet": KINDS["jobset"], "TrainJob": KINDS["trainjob"]}
BY_PLURAL = {k.plural: k for k in KINDS.values()}


def create_call(api: k8s.CustomObjectsApi, kind: Kind) -> Callable[..., Any]:
    """(namespace, body, **kw) → the create call, shaped like the typed ``create_namespaced_*``."""
    def create(namespace: str, body: Any, **kw: Any) -> Any:
        return api.create_namespaced_custom_object(kind.group, kind.version, namespace, kind.plural, body, **kw)
    return create


def read_call(api: k8s.CustomObjectsApi, kind: Kind) -> Callable[..., Any]:
    """(name, namespace, **kw), like ``read_namespaced_*``."""
    def read(name: str, namespace: str, **kw: Any) -> Any:
        return api.get_namespaced_custom_object(kind.group, kind.version, namespace, kind.plural, name, **kw)
    return read


def delete_call(api: k8s.CustomObjectsApi, kind: Kind) -> Callable[..., Any]:
    """(name, namespace, **kw), like ``delete_namespaced_*``."""
    def delete(name: str, namespace: str, **kw: Any) -> Any:
        return api.delete_namespaced_custom_object(kind.group, kind.version, namespace, kind.plural, name, **kw)
    return delete


def list_all_call(api: k8s.CustomObjectsApi, kind: Kind) -> Callable[..., Any]:
    """(**kw) → every object of ``kind`` in all namespaces (also ``watch=True``)."""
    return functools.partial(api.list_cluster_custom_object, kind.group, kind.version, kind.plural)
