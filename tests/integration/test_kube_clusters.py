"""Several clusters behind one port (``KubeClusters``) against two simulated API servers: merged reads
named by cluster, a job's calls routed to its own cluster, one cluster stopped (unreachable since, its
last nodes kept, nothing sent there) and started again (reachable)."""

from __future__ import annotations

import time

import pytest

from bot.adapters.kube.client import KubeCluster
from bot.adapters.kube.clusters import KubeClusters
from bot.domain.cluster.workloads import render_workload
from bot.domain.errors import TransientBackendError
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import load_policy
from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from tests.support.botstack import H100, POLICY_FILE

NS = "ml-research"
POLICY = load_policy(POLICY_FILE)


def sim(nodes: int, port: int = 0) -> SimServer:
    return SimServer(SimCluster([NodeSpec(f"h100-{i}", 8, H100) for i in range(nodes)], namespaces=[NS]), port=port)


def record(name: str) -> JobRecord:
    return JobRecord(name=name, namespace=NS, team="research", owner="URES0001", image="ghcr.io/acme/train:1.4",
                     gpus=8, gpu_type="h100", time_limit_s=3600, idempotency_key=f"k-{name}", cluster="cloud")


def test_two_clusters_merged_routed_and_one_down_then_back() -> None:
    onprem, cloud = sim(1).start(), sim(2).start()
    clusters = KubeClusters({"onprem": KubeCluster.from_url(onprem.url, POLICY.gpu_types),
                             "cloud": KubeCluster.from_url(cloud.url, POLICY.gpu_types)})
    clusters.locate = lambda namespace, name: "cloud" if name == "on-cloud" else "onprem"
    try:
        snap = clusters.snapshot()
        assert snap.clusters == ("onprem", "cloud") and snap.unreachable == {}
        assert sorted(n.name for n in snap.facts.nodes) == ["cloud/h100-0", "cloud/h100-1", "onprem/h100-0"]
        assert {n.cluster for n in snap.facts.nodes} == {"onprem", "cloud"}
        clusters.create(render_workload(record("on-cloud"), POLICY), "k-on-cloud")
        jobs = clusters.managed_jobs()
        assert jobs[f"{NS}/on-cloud"].cluster == "cloud"
        assert cloud.cluster.store.list("jobs", NS)[1] and not onprem.cluster.store.list("jobs", NS)[1]
        assert clusters.job_exists(NS, "on-cloud")

        port = onprem.port
        onprem.stop()
        t0 = time.time()
        snap = clusters.snapshot()
        assert set(snap.unreachable) == {"onprem"} and t0 - 1 <= snap.unreachable["onprem"] <= time.time()
        assert "onprem/h100-0" in {n.name for n in snap.facts.nodes}  # as last seen: its types still exist
        assert set(clusters.managed_jobs()) == {f"{NS}/on-cloud"}  # the cloud still answers
        started = time.monotonic()
        with pytest.raises(TransientBackendError, match="cluster onprem is unreachable"):
            clusters.job_exists(NS, "elsewhere")
        assert time.monotonic() - started < 0.5  # said at once, no retry budget spent on a dead cluster
        started = time.monotonic()
        clusters.snapshot()
        assert time.monotonic() - started < 2.0  # a down cluster is probed with one quick call

        onprem = sim(1, port).start()  # back on the same address
        assert clusters.snapshot().unreachable == {}
    finally:
        onprem.stop()
        cloud.stop()
        clusters.close()
