"""Questions ``chatops doctor`` asks the API server: may I (SelfSubjectAccessReview), could I launch
in this namespace (a dry-run Job), which GPU nodes are there and how are they labelled."""

from __future__ import annotations

from typing import Any

from kubernetes import client as k8s

from bot.adapters.kube.client import KubeCluster
from bot.adapters.kube.reading import quantity
from bot.domain.cluster.access import GPU_RESOURCE, PRODUCT_LABEL, Permission, probe_job


class ClusterAccess:
    def __init__(self, cluster: KubeCluster) -> None:
        self.cluster = cluster
        self._authz = k8s.AuthorizationV1Api(cluster.api_client)
        self._core = k8s.CoreV1Api(cluster.api_client)

    def allowed(self, perm: Permission, namespace: str | None) -> bool:
        resource, _, sub = perm.resource.partition("/")
        attributes: dict[str, Any] = {"group": perm.group, "resource": resource, "verb": perm.verb}
        if sub:
            attributes["subresource"] = sub
        if namespace:
            attributes["namespace"] = namespace
        body: Any = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                     "spec": {"resourceAttributes": attributes}}
        # a review changes nothing: retried like a read
        review: Any = self.cluster.read("access review", self._authz.create_self_subject_access_review, body)
        return bool(review.get("status", {}).get("allowed"))

    def can_launch_in(self, namespace: str) -> None:
        """Raises ``DryRunRejected`` with the API server's words when a Job there would be refused."""
        self.cluster.dry_run([probe_job(namespace)])

    def gpu_nodes(self) -> dict[str, str | None]:
        """Node name → its GPU product label (None: unlabelled), for the nodes that offer GPUs."""
        nodes = self.cluster.read("list nodes", self._core.list_node).get("items", [])
        out: dict[str, str | None] = {}
        for node in nodes:
            status = node.get("status", {})
            gpus = quantity((status.get("allocatable") or status.get("capacity") or {}).get(GPU_RESOURCE, 0))
            if gpus > 0:
                out[node["metadata"]["name"]] = (node["metadata"].get("labels") or {}).get(PRODUCT_LABEL)
        return out
