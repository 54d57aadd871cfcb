"""What the bot needs from the Kubernetes API, as ``chatops doctor`` checks it.

The same permissions as deploy/base/rbac.yaml (tests/e2e/test_rbac.py derives that file from the calls the
bot makes; tests/integration/test_doctor.py checks this list against it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.domain.cluster.manifests import LABEL_MANAGED_BY, MANAGED_BY

GPU_RESOURCE = "nvidia.com/gpu"
PRODUCT_LABEL = "nvidia.com/gpu.product"
PROBE_NAME = "chatops-doctor-probe"


@dataclass(frozen=True)
class Permission:
    group: str  # "" is the core API group
    resource: str  # "pods/log": resource/subresource
    verb: str

    def __str__(self) -> str:
        return f"{self.verb} {self.resource}" + (f".{self.group}" if self.group else "")


def _perms(*rows: tuple[str, str, tuple[str, ...]]) -> tuple[Permission, ...]:
    return tuple(Permission(group, resource, verb) for group, resource, verbs in rows for verb in verbs)


# In each team namespace: the bot's Jobs, their pods and logs, the headless Service of a multi-node job.
TEAM_NAMESPACE = _perms(("batch", "jobs", ("create", "get", "delete", "patch")), ("", "pods", ("list",)),
                        ("", "pods/log", ("get",)), ("", "services", ("create", "get", "delete")))
# Cluster-wide reads: GPU nodes, the pods on them, the watcher's watches.
CLUSTER_WIDE = _perms(("", "nodes", ("list",)), ("", "pods", ("list", "watch")), ("batch", "jobs", ("list", "watch")),
                      ("", "events", ("list", "watch")))


def probe_job(namespace: str) -> dict[str, Any]:
    """A Job only ever created as a dry run: the API server says whether the bot could launch there."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": PROBE_NAME, "namespace": namespace, "labels": {LABEL_MANAGED_BY: MANAGED_BY}},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {LABEL_MANAGED_BY: MANAGED_BY}},
                "spec": {"restartPolicy": "Never",
                         "containers": [{"name": "probe", "image": "registry.k8s.io/pause:3.9"}]},
            },
        },
    }
