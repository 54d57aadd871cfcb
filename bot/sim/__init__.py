"""A simulated GPU cluster speaking the Kubernetes REST API (``chatops sim``, ``chatops demo``, tests)."""

from bot.sim.apiserver import RequestRecord, SimServer
from bot.sim.cluster import PRODUCTS, NodeSpec, SimCluster, node_specs, parse_gpu_type_arg

__all__ = [
    "PRODUCTS",
    "NodeSpec",
    "RequestRecord",
    "SimCluster",
    "SimServer",
    "node_specs",
    "parse_gpu_type_arg",
]
