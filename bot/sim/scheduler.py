"""A GPU-aware gang scheduler: every pod of a gang binds at once or none does, FIFO by arrival."""

from __future__ import annotations

from dataclasses import dataclass, field

GPU = "nvidia.com/gpu"
PodKey = tuple[str, str]  # (namespace, name)


@dataclass(frozen=True, slots=True)
class PodReq:
    key: PodKey
    gpus: int
    selector: tuple[tuple[str, str], ...]


@dataclass(slots=True)
class Gang:
    key: str
    pods: list[PodReq]
    reported: str = ""  # last FailedScheduling message, so unchanged verdicts aren't re-announced

    @property
    def shape(self) -> tuple[tuple[int, tuple[tuple[str, str], ...]], ...]:
        return tuple((p.gpus, p.selector) for p in self.pods)


@dataclass(slots=True)
class NodeState:
    name: str
    labels: dict[str, str]
    allocatable: int
    used: int = 0

    @property
    def free(self) -> int:
        return self.allocatable - self.used

    def matches(self, selector: tuple[tuple[str, str], ...]) -> bool:
        return all(self.labels.get(k) == v for k, v in selector)


@dataclass(slots=True)
class Decision:
    bound: list[tuple[PodReq, str]] = field(default_factory=list)
    unschedulable: list[tuple[Gang, str]] = field(default_factory=list)


class Scheduler:
    def __init__(self) -> None:
        self.nodes: dict[str, NodeState] = {}
        self.alloc: dict[PodKey, tuple[str, int]] = {}
        self.pending: dict[str, Gang] = {}  # insertion order is arrival order
        self._pod_gang: dict[PodKey, str] = {}
        self._new: list[str] = []
        # Set when capacity grows; otherwise only newly arrived gangs can possibly fit.
        self._capacity_grew = False

    def add_node(self, node: NodeState) -> None:
        self.nodes[node.name] = node
        self._capacity_grew = True

    def remove_node(self, name: str) -> list[PodKey]:
        """Forget the node; the pods that were bound to it."""
        self.nodes.pop(name, None)
        lost = [key for key, (node, _g) in self.alloc.items() if node == name]
        for key in lost:
            del self.alloc[key]
        return lost

    def add_gang(self, gang: Gang) -> None:
        self.pending[gang.key] = gang
        for pod in gang.pods:
            self._pod_gang[pod.key] = gang.key
        self._new.append(gang.key)

    def forget(self, key: PodKey) -> None:
        """The pod is gone: release its GPUs or drop it from its pending gang."""
        self.release(key)
        gang_key = self._pod_gang.pop(key, None)
        gang = self.pending.get(gang_key or "")
        if gang is not None:
            gang.pods = [p for p in gang.pods if p.key != key]
            if not gang.pods:
                del self.pending[gang.key]

    def release(self, key: PodKey) -> None:
        held = self.alloc.pop(key, None)
        if held is not None and held[0] in self.nodes:
            self.nodes[held[0]].used -= held[1]
            self._capacity_grew = True

    def schedule(self) -> Decision:
        decision = Decision()
        if self._capacity_grew:
            candidates = list(self.pending)
        else:
            candidates = [k for k in self._new if k in self.pending]
        self._capacity_grew = False
        self._new = []
        failed_shapes: dict[object, str] = {}  # capacity only shrinks during a pass
        for gang_key in candidates:
            gang = self.pending[gang_key]
            shape = gang.shape
            message = failed_shapes.get(shape)
            if message is None:
                placement = self._place(gang)
                if isinstance(placement, str):
                    message = failed_shapes[shape] = placement
                else:
                    for pod, node in placement:
                        self.nodes[node].used += pod.gpus
                        self.alloc[pod.key] = (node, pod.gpus)
                        self._pod_gang.pop(pod.key, None)
                    del self.pending[gang_key]
                    decision.bound += placement
                    continue
            if message != gang.reported:
                gang.reported = message
                decision.unschedulable.append((gang, message))
        return decision

    def _place(self, gang: Gang) -> list[tuple[PodReq, str]] | str:
        free = {n.name: n.free for n in self.nodes.values()}
        placement: list[tuple[PodReq, str]] = []
        for pod in gang.pods:
            best: str | None = None
            for node in self.nodes.values():
                if (
                    free[node.name] >= pod.gpus
                    and node.matches(pod.selector)
                    and (
                        best is None or free[node.name] < free[best]  # best fit keeps whole nodes free
                    )
                ):
                    best = node.name
            if best is None:
                return self._why(pod, free)
            free[best] -= pod.gpus
            placement.append((pod, best))
        return placement

    def _why(self, pod: PodReq, free: dict[str, int]) -> str:
        total = len(self.nodes)
        mismatch = sum(1 for n in self.nodes.values() if not n.matches(pod.selector))
        short = total - mismatch
        reasons = []
        if short:
            reasons.append(f"{short} Insufficient {GPU}")
        if mismatch:
            reasons.append(f"{mismatch} node(s) didn't match Pod's node affinity/selector")
        detail = ", ".join(reasons) if reasons else "no nodes available to schedule pods"
        return (
            f"0/{total} nodes are available: {detail}. preemption: 0/{total} nodes are available: "
            f"{total} No preemption victims found for incoming pod."
        )
