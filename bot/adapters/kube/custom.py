"""The custom resources the bot creates (JobSet, TrainJob) through the client's ``CustomObjectsApi``.

Which group, version and plural a kind has comes from the domain modules; a kind the cluster does not
serve (its CRD not installed) answers 404 to a list, which reads as "none of those here".
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, cast

from kubernetes import client as k8s

from bot.adapters.kube.calls import ObjectNotFound
from bot.domain.cluster import jobset, trainjob
from bot.domain.cluster.manifests import MANAGED_BY_SELECTOR
from bot.domain.cluster.objects import Job
from bot.domain.cluster.workload_view import as_job


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


UNSERVED_RECHECK_S = 300.0


class Lister:
    """The bot's JobSets and TrainJobs, read as Jobs, for the kinds the policy makes."""

    def __init__(self, api: k8s.CustomObjectsApi) -> None:
        self.api = api
        self._unserved: dict[str, float] = {}  # plural → monotonic time to ask again whether it is served

    def managed(self, read: Callable[..., Any], plurals: Collection[str]) -> list[Job]:
        """``read`` is the client's retried read; a kind whose CRD the cluster lacks gives none."""
        out: list[Job] = []
        now = time.monotonic()
        for record_kind, kind in KINDS.items():
            if kind.plural not in plurals or self._unserved.get(kind.plural, 0.0) > now:
                continue  # not made under this policy, or not served a moment ago: not asked on every pass
            try:
                listed = read(f"list {kind.plural}", list_all_call(self.api, kind), label_selector=MANAGED_BY_SELECTOR)
            except ObjectNotFound:
                self._unserved[kind.plural] = now + UNSERVED_RECHECK_S
                continue
            out += [cast(Job, as_job(o, KINDS_VIEW[record_kind])) for o in listed.get("items", [])]
        return out
