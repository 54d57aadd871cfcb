"""Scheduling math: GPUs per node, what is free, the scheduler's state and its order.

Pure: the dispatcher hands in a snapshot (nodes, GPUs held, running jobs, the queue) and gets
decisions back. GPUs are counted per node: a gang of N nodes needs N distinct nodes with enough
free GPUs each. The rest of the scheduler: ``admission`` (who starts now: quota, EASY backfill,
over-quota), ``preemption``, ``eta`` (estimated starts), ``fair_share`` (decayed usage).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Literal, NamedTuple


@dataclass(frozen=True)
class NodeFacts:
    name: str
    gpu_type: str | None  # short name from the policy, None when the product is unknown to it
    allocatable: int
    ready: bool = True
    cpu: float = 0.0  # allocatable cores; 0 = not reported
    memory: int = 0  # allocatable bytes; 0 = not reported
    cluster: str = ""  # the policy's cluster name when it has several ("" = the one cluster)


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

    def largest(self, gpu_type: str) -> tuple[float, int]:
        """(cores, bytes) a pod may ask for on the largest ready node of the type; 0 = not reported."""
        nodes = self._typed(gpu_type)
        return max((n.cpu for n in nodes), default=0.0), max((n.memory for n in nodes), default=0)

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


# --- the scheduler: priority, quota, EASY backfill, over-quota ------------------------------------

PRIORITY_RANK: dict[str, int] = {"high": 0, "normal": 1, "low": 2}


@dataclass(frozen=True)
class QueuedJob:
    """A queued job as the scheduler sees it; ``seq`` is its submit order (kept across preemptions)."""

    key: str
    team: str
    gpu_type: str
    nodes: int
    gpus_per_node: int
    time_limit_s: float
    priority: str = "normal"
    seq: int = 0

    @property
    def gpus(self) -> int:
        return self.nodes * self.gpus_per_node


@dataclass(frozen=True)
class RunningJob:
    """A job holding GPUs: where (node → GPUs) and until when at the latest (start + time limit)."""

    key: str
    team: str
    gpu_type: str
    placement: tuple[tuple[str, int], ...]
    end_at: float
    priority: str = "normal"
    over_quota: bool = False
    started_at: float = 0.0
    gpus: int = field(init=False, repr=False, compare=False)  # the placement's sum (read very often)

    def __post_init__(self) -> None:
        object.__setattr__(self, "gpus", sum(g for _, g in self.placement))


@dataclass
class SchedState:
    """One snapshot for a decision: now, free GPUs per type and node, who runs, the queue in order."""

    now: float
    free: dict[str, dict[str, int]]
    running: list[RunningJob]
    queue: Sequence[QueuedJob]  # in scheduling order (see order_queue; ``queue_index.LazyQueue``)
    quotas: dict[str, int]
    # GPUs still held by pods of jobs the bot preempted or stopped: free within ``drain_s``.
    draining: dict[str, dict[str, int]] = field(default_factory=dict)
    drain_s: float = 120.0
    # How many jobs past the first blocked one are tried for backfill (Slurm's bf_max_job_test).
    backfill_depth: int = 1000


WhyKind = Literal["capacity", "quota", "behind", "idle_only", "draining", "preempting"]


class Why(NamedTuple):
    """Why a queued job did not start, as data; ``queue_render.why_text`` says it in words.

    A NamedTuple: thousands are made per explanation pass, and frozen dataclasses are slow to build.
    """

    kind: WhyKind
    gpus: int = 0
    gpu_type: str = ""
    free: int = 0
    used: int = 0
    quota: int = 0
    team: str = ""
    ahead: int = 0
    ahead_priority: str | None = None  # the priority of the jobs ahead when higher than the job's own
    borrowed: int = 0  # GPUs the team holds beyond its quota (over-quota jobs on idle GPUs)


@dataclass(frozen=True)
class Start:
    job: QueuedJob
    nodes: list[str]
    over_quota: bool = False


@dataclass
class Head:
    """The first in-quota job of a type that cannot start: it alone holds a reservation (EASY)."""

    key: str
    shadow: float | None  # when it fits by running jobs' limits; None = never (then it protects nothing)
    extra: dict[str, int]  # GPUs per node still free at the shadow time beyond what the head takes
    job: QueuedJob | None = None


@dataclass
class Plan:
    starts: list[Start] = field(default_factory=list)
    waits: dict[str, Why] = field(default_factory=dict)
    heads: dict[str, Head] = field(default_factory=dict)
    free_after: dict[str, dict[str, int]] = field(default_factory=dict)


def order_queue(queue: Sequence[QueuedJob], ratios: Mapping[str, float]) -> list[QueuedJob]:
    """Priority, then the team's fair-share ratio (lower first), then submit order.

    Linear rather than a 10,000-key sort: jobs are grouped by (priority, team) in one pass, groups
    are ranked by (priority, ratio), and groups of equal rank (teams with the very same ratio) are
    merged by submit order (Timsort on already sorted runs).
    """
    groups: dict[tuple[str, str], list[QueuedJob]] = {}
    for j in queue:
        k = (j.priority, j.team)
        g = groups.get(k)
        if g is None:
            groups[k] = [j]
        else:
            g.append(j)
    ranked: dict[tuple[int, float], list[QueuedJob]] = {}
    for (priority, team), g in groups.items():
        ranked.setdefault((PRIORITY_RANK.get(priority, 1), ratios.get(team, 0.0)), []).extend(g)
    out: list[QueuedJob] = []
    for key in sorted(ranked):
        out += sorted(ranked[key], key=_SEQ)
    return out


_SEQ = attrgetter("seq")


def in_quota_use(running: Iterable[RunningJob]) -> dict[str, int]:
    used: dict[str, int] = {}
    for r in running:
        if not r.over_quota:
            used[r.team] = used.get(r.team, 0) + r.gpus
    return used


def borrowed_use(running: Iterable[RunningJob]) -> dict[str, int]:
    """GPUs each team holds beyond its quota: its over-quota (preemptible) jobs."""
    out: dict[str, int] = {}
    for r in running:
        if r.over_quota:
            out[r.team] = out.get(r.team, 0) + r.gpus
    return out
