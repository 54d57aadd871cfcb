"""Several clusters as separate GPU pools, keyed by (cluster, GPU type), for the one scheduler.

The scheduler (``cycle``, ``admission``, ``eta``, ``preemption``) keys its pools by a string; with
several clusters that key is ``pool_of(gpu_type, cluster)`` ("h100@onprem"), the nodes are named
"cluster/node", and each queued job is first given the cluster it goes to (``place``): the one
where its gang fits now with the most GPUs of its type free, else the one with the most of them.
A job pinned to a cluster (``--cluster``, a template's ``cluster:``) goes there only. A cluster that
does not answer gets no new jobs; a job with no other cluster waits, with that reason. With one
cluster nothing here applies: the pool key is the GPU type, as before.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bot.domain.cluster.snapshot import Snapshot
from bot.domain.jobs import JobRecord
from bot.domain.messages.clusters import pool_label
from bot.domain.policy.clusters import candidates, cluster_names
from bot.domain.policy.config import Policy
from bot.domain.scheduling.model import ClusterFacts, place_gang, reserve

SEP = "@"


def pool_of(gpu_type: str, cluster: str) -> str:
    """The scheduler's pool key of (cluster, GPU type); the bare type when there is one cluster."""
    return f"{gpu_type}{SEP}{cluster}" if cluster else gpu_type


def split_pool(pool: str) -> tuple[str, str]:
    """(GPU type, cluster) of a pool key; cluster "" for the one cluster."""
    gpu_type, _, cluster = pool.partition(SEP)
    return gpu_type, cluster


def pool_text(pool: str) -> str:
    """A pool in words: "h100 on onprem" (the bare type with one cluster)."""
    return pool_label(*split_pool(pool))


def pooled_facts(facts: ClusterFacts) -> ClusterFacts:
    """The snapshot's nodes with their pool as their type: the scheduler then keeps clusters apart."""
    nodes = [dataclasses.replace(n, gpu_type=pool_of(n.gpu_type, n.cluster)) if n.gpu_type else n
             for n in facts.nodes]
    return ClusterFacts(nodes, dict(facts.used))


@dataclass
class Placement:
    """Where each queued job goes in this pass, and the jobs that have nowhere to go."""

    cluster: dict[str, str] = field(default_factory=dict)  # job key → cluster
    blocked: dict[str, tuple[str, float]] = field(default_factory=dict)  # job key → (cluster, down since)


def place(policy: Policy, queue: Sequence[JobRecord], facts: ClusterFacts,
          unreachable: Mapping[str, float]) -> Placement:
    """A cluster for each queued job, in queue order (``facts`` pooled: see ``pooled_facts``)."""
    out = Placement()
    free: dict[str, dict[str, int]] = {}  # pool → node → GPUs free, as this pass places jobs
    total: dict[str, int] = {}  # pool → GPUs free in all (a quick no before trying to place a gang)
    size: dict[str, tuple[int, int]] = {}  # pool → (capacity, free at the start): where a job that fits nowhere waits
    order = {c: i for i, c in enumerate(cluster_names(policy))}
    largest: dict[tuple[str, ...], str] = {}  # (GPU type, clusters up) → the one with the most of it
    offers: dict[tuple[str, str, str | None], list[str]] = {}
    for r in queue:
        ask = (r.gpu_type, r.namespace, r.cluster_wanted)
        offered = offers.get(ask)
        if offered is None:
            offered = offers[ask] = candidates(policy, *ask)
        up = [c for c in offered if c not in unreachable]
        if not up:
            if offered:
                down = min(offered, key=lambda c: unreachable[c])
                out.blocked[r.key] = (down, unreachable[down])
            else:  # the policy changed under it: it waits in no pool, as a job of an absent type does
                out.cluster[r.key] = r.cluster_wanted or ""
            continue
        per, gpus = r.gpus_per_node, r.gpus
        best: tuple[tuple[int, int], str, list[str]] | None = None
        for c in up:
            pool = pool_of(r.gpu_type, c)
            if pool not in free:
                free[pool] = facts.free_by_node(pool)
                total[pool] = sum(free[pool].values())
                size[pool] = (facts.capacity(pool), total[pool])
            if total[pool] < gpus:
                continue
            spot = place_gang(free[pool], r.nodes, per)
            if spot is not None:
                rank = (total[pool], -order.get(c, 0))
                if best is None or rank > best[0]:
                    best = (rank, c, spot)
        if best is not None:
            _, chosen, spot = best
            pool = pool_of(r.gpu_type, chosen)
            reserve(free[pool], spot, per)
            total[pool] -= per * len(spot)
        else:  # fits nowhere now: it waits where the type is largest (its start comes soonest there)
            where = (r.gpu_type, *up)
            chosen = largest.get(where) or largest.setdefault(
                where, max(up, key=lambda c: (*size[pool_of(r.gpu_type, c)], -order.get(c, 0))))
        out.cluster[r.key] = chosen
    return out


def pooled_policy(policy: Policy) -> Policy:
    """The policy with one "GPU type" per (cluster, type) pool, as the scheduler iterates them."""
    pools = {pool_of(t, c): product for c in cluster_names(policy) for t, product in policy.gpu_types.items()}
    return policy.model_copy(update={"gpu_types": pools})


def pooled_record(r: JobRecord, cluster: str) -> JobRecord:
    """``r`` as the scheduler sees it: its GPU type is its pool's key (a shallow copy: 10,000 a pass)."""
    out = copy.copy(r)
    out.gpu_type = pool_of(r.gpu_type, cluster)
    return out


def gpu_pools(policy: Policy, snap: Snapshot) -> list[tuple[str, str]]:
    """(label, pool key) of each pool `/gpu gpus` lists: the GPU types, or "cluster type" per cluster."""
    if not snap.clusters:
        return [(t, t) for t in policy.gpu_types]
    return [(f"{c} {t}", pool_of(t, c)) for c in snap.clusters for t in policy.gpu_types]
