"""``SimCluster``: the store, simulated clock and controller behind one facade, plus node specs."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain.cluster.objects import Obj
from bot.sim import namespaces as namespaces_mod
from bot.sim.clock import SimClock
from bot.sim.controller import Controller
from bot.sim.custom import EXTENSIONS
from bot.sim.kueue.controller import KueueController
from bot.sim.status import BUILTIN_GROUPS, KUEUE_GROUP, KUEUE_RESOURCES, RESOURCES, Resource
from bot.sim.store import Store
from bot.sim.trainer.runtime import torch_distributed

PRODUCTS: dict[str, str] = {
    "h100": "NVIDIA-H100-80GB-HBM3",
    "a100": "NVIDIA-A100-SXM4-80GB",
    "l40s": "NVIDIA-L40S",
    "t4": "Tesla-T4",
    "h200": "NVIDIA-H200",
    "b200": "NVIDIA-B200",
    "a10g": "NVIDIA-A10G",
    "l4": "NVIDIA-L4",
    "v100": "Tesla-V100-SXM2-16GB",
}


@dataclass(frozen=True, slots=True)
class NodeSpec:
    name: str
    gpus: int
    product: str  # the nvidia.com/gpu.product label value, e.g. NVIDIA-H100-80GB-HBM3


def product_for(gpu_type: str) -> str:
    """``h100`` → ``NVIDIA-H100-80GB-HBM3``; an unknown name is taken as a literal product label."""
    return PRODUCTS.get(gpu_type.strip().lower(), gpu_type.strip())


def parse_gpu_type_arg(text: str, nodes: int = 1, gpus_per_node: int = 8) -> list[tuple[int, int, str]]:
    """``"h100"`` → ``[(nodes, gpus_per_node, product)]``; ``"4x8:h100"`` → ``[(4, 8, product)]``."""
    m = re.fullmatch(r"\s*(?:(\d+)x(\d+):)?([A-Za-z0-9._-]+)\s*", text)
    if not m:
        raise ValueError(f"'{text}' is not a GPU type; write e.g. h100 or 4x8:h100")
    if m.group(1):
        nodes, gpus_per_node = int(m.group(1)), int(m.group(2))
    if nodes < 0 or gpus_per_node < 0:
        raise ValueError(f"'{text}': counts must not be negative")
    return [(nodes, gpus_per_node, product_for(m.group(3)))]


def node_specs(groups: list[tuple[int, int, str]]) -> list[NodeSpec]:
    """Named ``gpu-<short product>-<n>`` per group, numbered across the cluster."""
    specs: list[NodeSpec] = []
    for count, gpus, product in groups:
        short = next(
            (k for k, v in PRODUCTS.items() if v == product), re.sub(r"[^a-z0-9]+", "-", product.lower())
        )
        for _ in range(count):
            specs.append(NodeSpec(f"gpu-{short}-{len(specs)}", gpus, product))
    return specs


def _internal_ip(name: str) -> str:
    # Stable per node name, so a node keeps its address across restarts of the sim.
    n = zlib.crc32(name.encode()) % (254 * 254)
    return f"10.0.{n // 254}.{n % 254 + 1}"


def node_object(spec: NodeSpec, now: str) -> Obj:
    alloc = {
        "nvidia.com/gpu": str(spec.gpus),
        "cpu": "96",
        "memory": "1056Gi",
        "pods": "110",
        "ephemeral-storage": "3Ti",
    }
    return {
        "kind": "Node",
        "apiVersion": "v1",
        "metadata": {
            "name": spec.name,
            "labels": {
                "kubernetes.io/hostname": spec.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "nvidia.com/gpu.product": spec.product,
                "nvidia.com/gpu.count": str(spec.gpus),
                "nvidia.com/gpu.present": "true",
            },
        },
        "spec": {"podCIDR": "10.244.0.0/24"},
        "status": {
            "capacity": dict(alloc),
            "allocatable": alloc,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
            ],
            "addresses": [
                {"type": "InternalIP", "address": _internal_ip(spec.name)},
                {"type": "Hostname", "address": spec.name},
            ],
            "nodeInfo": {
                "kubeletVersion": "v1.31.0",
                "kubeProxyVersion": "v1.31.0",
                "containerRuntimeVersion": "containerd://1.7.22",
                "osImage": "Ubuntu 22.04.4 LTS",
                "kernelVersion": "5.15.0-119-generic",
                "operatingSystem": "linux",
                "architecture": "amd64",
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
            },
        },
    }


class SimCluster:
    """A simulated GPU cluster. ``speed`` 60 means one real second is one simulated minute.

    It starts with ``default`` and ``kube-system`` plus ``namespaces``; content in any other namespace is
    refused until that namespace is created, as on a real cluster. ``extensions`` (``jobset``, ``trainer``)
    install those projects' APIs and controllers, ``kueue`` Kueue's; without them their URLs answer 404 as
    on a bare cluster.
    """

    def __init__(
        self,
        node_specs: list[NodeSpec] | None = None,
        speed: float = 1.0,
        history_limit: int = 10_000,
        namespaces: Iterable[str] = (),
        extensions: Iterable[str] = (),
        kueue: bool = False,
    ) -> None:
        self.groups = frozenset(BUILTIN_GROUPS).union(*(EXTENSIONS[e] for e in extensions))
        self.clock = SimClock(speed)
        self.store = Store(history_limit=history_limit, now=self.clock.iso)
        self.controller = Controller(self.store, self.clock)
        self.resources: dict[str, Resource] = dict(RESOURCES)
        self.kueue: KueueController | None = None
        if kueue:
            self.groups |= {KUEUE_GROUP}
            self.resources.update(KUEUE_RESOURCES)
            self.kueue = KueueController(self.store, self.clock, self.controller.events)
        self.add_namespaces([*namespaces_mod.SYSTEM, *namespaces])
        for spec in node_specs or []:
            self.add_node(spec)
        if "trainer.kubeflow.org" in self.groups:  # a Trainer install ships its runtimes
            self.store.create("clustertrainingruntimes", torch_distributed())

    @property
    def speed(self) -> float:
        return self.clock.speed

    def start(self) -> None:
        self.controller.start()
        if self.kueue is not None:
            self.kueue.start()

    def stop(self) -> None:
        if self.kueue is not None:
            self.kueue.stop()
        self.controller.stop()

    def add_namespaces(self, names: Iterable[str]) -> None:
        namespaces_mod.ensure(self.store, names)

    def add_node(self, spec: NodeSpec) -> None:
        self.controller.add_node(node_object(spec, self.clock.iso()))

    def remove_node(self, name: str) -> list[str]:
        """Delete the node; its pods fail with reason NodeLost. Returns the lost pods' names."""
        return self.controller.remove_node(name)

    def read_log(self, namespace: str, name: str, container: str | None, tail: int | None) -> str:
        return self.controller.read_log(namespace, name, container, tail)

    def free_gpus(self) -> dict[str, int]:
        """GPUs not held by bound pods, per node (for tests and the demo)."""
        with self.controller.lock:
            return {n.name: n.free for n in self.controller.scheduler.nodes.values()}
