"""User-facing text about several clusters: placement, reachability, the `clusters:` policy key."""

from __future__ import annotations

import time as _time


def _clock(ts: float) -> str:
    return _time.strftime("%H:%M UTC", _time.gmtime(ts))


def cluster_unreachable_since(cluster: str, since: float) -> str:
    """On a running job's card and in `/gpu gpus`: its cluster does not answer (the job is not failed)."""
    return f":warning: cluster {cluster} unreachable since {_clock(since)}"


def cluster_wait_unreachable(cluster: str, since: float) -> str:
    """Why a queued job waits: the only cluster(s) it may go to do not answer."""
    return f"waiting: cluster {cluster} unreachable since {_clock(since)}"


def pool_label(gpu_type: str, cluster: str) -> str:
    """A GPU pool named in a reason: "h100 on onprem"."""
    return f"{gpu_type} on {cluster}" if cluster else gpu_type


def on_cluster(cluster: str) -> str:
    """Where a job runs, on its card and in the queue (only shown when the policy has several clusters)."""
    return f"cluster {cluster}"


def unknown_cluster(name: str, known: list[str]) -> str:
    return f"There is no cluster '{name}'. Clusters: {', '.join(known)}."


def cluster_lacks_gpu_type(cluster: str, gpu_type: str, offering: list[str]) -> str:
    where = f"; {gpu_type} is on {', '.join(offering)}" if offering else ""
    return f"Cluster {cluster} has no {gpu_type} GPUs{where}."


def cluster_lacks_namespace(cluster: str, namespace: str, serving: list[str]) -> str:
    where = f"; it is served by {', '.join(serving)}" if serving else ""
    return f"Cluster {cluster} does not serve your team's namespace {namespace}{where}."


def gpus_cluster_unreachable(cluster: str, since: float) -> str:
    return f"*{cluster}*: unreachable since {_clock(since)} — no new jobs go there; its running jobs are kept"


__all__ = [
    "cluster_lacks_gpu_type",
    "cluster_lacks_namespace",
    "cluster_unreachable_since",
    "cluster_wait_unreachable",
    "clusters_summary",
    "contexts_not_checked",
    "gpus_cluster_unreachable",
    "on_cluster",
    "pool_label",
    "unknown_cluster",
]


def contexts_not_checked() -> str:
    return ("note: KUBECONFIG is not set (or unreadable), so the clusters' contexts were not checked; "
            "set KUBECONFIG to the bot's kubeconfig and run check-config again")


def clusters_summary(names: list[str], scheduler_mode: str) -> str:
    if scheduler_mode == "kueue":
        return f"clusters: {names[0]} (Kueue mode: several clusters are MultiKueue's, set up in Kueue itself)"
    return f"clusters: {', '.join(names)} (each cluster's GPUs are separate pools; a job goes where its type has room)"
