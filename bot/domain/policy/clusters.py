"""The policy's ``clusters:`` key: name → kubeconfig context (or in-cluster), GPU types, namespaces.

Without it the bot serves the one cluster of ``KUBECONFIG`` (or its service account), named
``default`` and never shown. With several, the builtin scheduler keeps each cluster's GPUs as pools
of their own (``bot.domain.scheduling.pools``); in Kueue mode MultiKueue is the engine for that.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol

from pydantic import Field, field_validator

from bot.domain.names import DNS1123_LABEL
from bot.domain.policy.org import StrictModel

IN_CLUSTER = "in-cluster"  # the context that means the pod's own service account
DEFAULT_CLUSTER = "default"  # the name of the one cluster when the policy names none


class ClusterEntry(StrictModel):
    context: str  # a context of KUBECONFIG, or "in-cluster"
    gpu_types: list[str] | None = None  # None: every type of the policy's gpu_types its nodes have
    namespaces: list[str] | None = None  # None: every team namespace

    @field_validator("context")
    @classmethod
    def _context(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("needs a kubeconfig context name (kubectl config get-contexts), or in-cluster")
        return v


ClusterMap = dict[str, ClusterEntry]


def clusters_field() -> ClusterMap:
    return Field(default_factory=dict)


class HasClusters(Protocol):
    """What placement reads of the policy (``config.Policy``), without importing it."""

    @property
    def clusters(self) -> Mapping[str, ClusterEntry]: ...


def cluster_problems(clusters: Mapping[str, ClusterEntry], gpu_types: Collection[str], namespaces: set[str],
                     templates: Mapping[str, str | None], scheduler_mode: str) -> list[str]:
    """What is wrong with ``clusters:`` (and templates' ``cluster:``), one problem a line, key first."""
    out: list[str] = []
    contexts: dict[str, str] = {}
    for name, entry in clusters.items():
        if not DNS1123_LABEL.fullmatch(name) or len(name) > 63:
            out.append(f"clusters.{name}: '{name}' is not a valid cluster name (lower-case letters, digits, '-')")
        if entry.context in contexts:
            out.append(f"clusters.{name}.context: '{entry.context}' is also cluster '{contexts[entry.context]}'; "
                       "one context, one cluster name")
        contexts.setdefault(entry.context, name)
        for t in entry.gpu_types or []:
            if t not in gpu_types:
                out.append(f"clusters.{name}.gpu_types: '{t}' is not in gpu_types "
                           f"({', '.join(sorted(gpu_types))})")
        for ns in entry.namespaces or []:
            if ns not in namespaces:
                out.append(f"clusters.{name}.namespaces: '{ns}' is no team's namespace "
                           f"({', '.join(sorted(namespaces))})")
    if clusters:
        for t in gpu_types:
            if not any(e.gpu_types is None or t in e.gpu_types for e in clusters.values()):
                out.append(f"gpu_types.{t}: no cluster offers '{t}'; add it to a cluster's gpu_types "
                           "or remove it from gpu_types")
        for ns in sorted(namespaces):
            if not any(e.namespaces is None or ns in e.namespaces for e in clusters.values()):
                out.append(f"teams: the namespace '{ns}' is served by no cluster; add it to a cluster's namespaces")
    for tname, wanted in templates.items():
        if wanted is not None and wanted not in clusters:
            out.append(f"templates.{tname}.cluster: '{wanted}' is not in clusters "
                       f"({', '.join(sorted(clusters)) or 'none defined'})")
    if len(clusters) > 1 and scheduler_mode == "kueue":
        out.append("clusters: several clusters with scheduler: kueue are Kueue's MultiKueue to dispatch, not the "
                   "bot's; list one cluster here (the MultiKueue manager), or use the builtin scheduler")
    return out


def cluster_names(policy: HasClusters) -> list[str]:
    """The clusters the bot serves, in the policy's order; ``default`` when it names none."""
    return list(policy.clusters) or [DEFAULT_CLUSTER]


def offers(policy: HasClusters, cluster: str, gpu_type: str, namespace: str) -> bool:
    """May a job of ``gpu_type`` in ``namespace`` go to ``cluster``, by the policy (not by its nodes)?"""
    entry = policy.clusters.get(cluster)
    if entry is None:
        return not policy.clusters and cluster == DEFAULT_CLUSTER
    return (entry.gpu_types is None or gpu_type in entry.gpu_types) and (
        entry.namespaces is None or namespace in entry.namespaces)


def candidates(policy: HasClusters, gpu_type: str, namespace: str, wanted: str | None = None) -> list[str]:
    """The clusters a job may go to: the one it asks for, else every cluster that offers its type."""
    names = [wanted] if wanted else cluster_names(policy)
    return [c for c in names if offers(policy, c, gpu_type, namespace)]


def context_problems(clusters: Mapping[str, ClusterEntry], contexts: Collection[str]) -> list[str]:
    """Contexts the clusters name that the kubeconfig does not have (``in-cluster`` needs none)."""
    known = ", ".join(sorted(contexts)) or "none"
    return [f"clusters.{name}.context: '{e.context}' is not a context of KUBECONFIG ({known}); name one of them "
            f"(kubectl config get-contexts) or {IN_CLUSTER}"
            for name, e in clusters.items() if e.context != IN_CLUSTER and e.context not in contexts]
