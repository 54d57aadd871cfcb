"""Scheduling math: GPUs per node, what is free, and whether a job fits now.

Pure: the dispatcher hands in a snapshot (nodes, GPUs held) and gets decisions back.
GPUs are counted per node: a gang of N nodes needs N distinct nodes with enough free GPUs each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class NodeFacts:
    name: str
    gpu_type: str | None  # short name from the policy, None when the product is unknown to it
    allocatable: int
    ready: bool = True


@dataclass
class ClusterFacts:
    """A snapshot of GPU nodes and what is held on each."""

    nodes: list[NodeFacts] = field(default_factory=list)
    used: dict[str, int] = field(default_factory=dict)  # node name → GPUs held by pods bound there

    def _typed(self, gpu_type: str) -> list[NodeFacts]:
        return [n for n in self.nodes if n.gpu_type == gpu_type and n.ready]

    def max_gpus_per_node(self, gpu_type: str) -> int:
        return max((n.allocatable for n in self._typed(gpu_type)), default=0)

    def node_count(self, gpu_type: str) -> int:
        return len(self._typed(gpu_type))

    def capacity(self, gpu_type: str) -> int:
        return sum(n.allocatable for n in self._typed(gpu_type))

    def free_by_node(self, gpu_type: str) -> dict[str, int]:
        return {n.name: max(0, n.allocatable - self.used.get(n.name, 0)) for n in self._typed(gpu_type)}

    def free(self, gpu_type: str) -> int:
        return sum(self.free_by_node(gpu_type).values())

    def types_present(self, known: Iterable[str]) -> list[str]:
        return [t for t in known if self.node_count(t) > 0]

    def most_free_type(self, known: Iterable[str]) -> str | None:
        present = self.types_present(known)
        return max(present, key=lambda t: (self.free(t), self.capacity(t)), default=None)


def place_gang(free_by_node: Mapping[str, int], nodes: int, gpus_per_node: int) -> list[str] | None:
    """Nodes for a gang of ``nodes`` pods of ``gpus_per_node`` GPUs each, or None when it does not fit.

    Best fit (fullest node that still fits first) keeps large holes free for large jobs.
    """
    fitting = sorted((free, name) for name, free in free_by_node.items() if free >= gpus_per_node)
    if len(fitting) < nodes:
        return None
    return [name for _, name in fitting[:nodes]]


def reserve(free_by_node: dict[str, int], placement: Iterable[str], gpus_per_node: int) -> None:
    for name in placement:
        free_by_node[name] -= gpus_per_node


@dataclass(frozen=True)
class Demand:
    """GPUs a job needs, for fit checks."""

    key: str
    team: str
    gpu_type: str
    nodes: int
    gpus_per_node: int

    @property
    def gpus(self) -> int:
        return self.nodes * self.gpus_per_node


def admit_in_order(
    queue: Iterable[Demand],
    free: Mapping[str, dict[str, int]],
    team_used: Mapping[str, int],
    team_quota: Mapping[str, int],
) -> list[tuple[Demand, list[str]]]:
    """Which queued jobs start now, in queue order, each with its nodes.

    A job starts when its GPU type has a gang placement and its team stays within quota.
    A job that cannot start blocks later jobs of the same GPU type (strict order per type;
    backfill comes with the scheduler).
    """
    free_now = {t: dict(by_node) for t, by_node in free.items()}
    used = dict(team_used)
    blocked: set[str] = set()
    admitted: list[tuple[Demand, list[str]]] = []
    for d in queue:
        if d.gpu_type in blocked:
            continue
        if used.get(d.team, 0) + d.gpus > team_quota.get(d.team, 0):
            continue  # the team's quota is full: others may still start
        by_node = free_now.get(d.gpu_type, {})
        placement = place_gang(by_node, d.nodes, d.gpus_per_node)
        if placement is None:
            blocked.add(d.gpu_type)
            continue
        reserve(by_node, placement, d.gpus_per_node)
        used[d.team] = used.get(d.team, 0) + d.gpus
        admitted.append((d, placement))
    return admitted
