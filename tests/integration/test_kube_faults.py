"""The Kubernetes adapter under API faults: the real client over HTTP, through the fault proxy, to the sim.

One error map by HTTP status (429/5xx busy, 400/403/409/422 a judgement of the object), retries
for reads, dry runs and deletes within the 3 s budget (Retry-After honoured), and a delete whose
answer was lost read back before anything is said.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client

from bot.adapters.kube.client import KubeCluster
from bot.adapters.kube.reading import IDEMPOTENCY_ANNOTATION
from bot.domain.errors import AlreadyExistsNotOurs, DryRunRejected, NamespaceMissing, Rejected, TransientBackendError
from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from tests.support.fault_proxy import FaultProxy

H100 = "NVIDIA-H100-80GB-HBM3"
NS = "ml-research"
LABELS = {"app.kubernetes.io/managed-by": "gpu-chatops"}


@dataclass
class Rig:
    sim: SimServer
    proxy: FaultProxy
    kube: KubeCluster

    def jobs(self) -> list[str]:
        return [j.metadata.name for j in client.BatchV1Api(self.sim.api_client()).list_namespaced_job(NS).items]

    def services(self) -> list[str]:
        return [s.metadata.name for s in client.CoreV1Api(self.sim.api_client()).list_namespaced_service(NS).items]


@pytest.fixture
def rig() -> Iterator[Rig]:
    cluster = SimCluster([NodeSpec("h100-0", 8, H100)], speed=60, namespaces=[NS])
    with SimServer(cluster) as sim, FaultProxy(sim.url, seed=1) as proxy:
        kube = KubeCluster.from_url(proxy.url, {"h100": H100})
        try:
            yield Rig(sim, proxy, kube)
        finally:
            kube.close()


def job(name: str, gpus: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": NS, "labels": LABELS},
        "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": LABELS}, "spec": {
            "restartPolicy": "Never", "nodeSelector": {"nvidia.com/gpu.product": H100},
            "containers": [{"name": "train", "image": "ghcr.io/acme/train:1", "env": [
                {"name": "SIM_DURATION", "value": "1h"}],
                "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}]}}},
    }


def service(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS, "labels": LABELS},
            "spec": {"clusterIP": "None", "selector": {"job-name": name}}}


def test_reads_retry_through_500s_and_drops(rig: Rig) -> None:
    rig.proxy.add_rule("GET", r"/api/v1/nodes$", "500", times=2)
    rig.proxy.add_rule("GET", r"/api/v1/pods$", "drop", times=1)
    snap = rig.kube.snapshot()
    assert [n.name for n in snap.facts.nodes] == ["h100-0"]
    assert [i.fault for i in rig.proxy.faults()] == ["500", "500", "drop"]


def test_a_429_is_retried_no_sooner_than_retry_after(rig: Rig) -> None:
    rig.proxy.add_rule("GET", r"/api/v1/nodes$", "429", times=1, retry_after=1)
    started = time.monotonic()
    rig.kube.snapshot()
    assert time.monotonic() - started >= 1.0


def test_reads_give_up_within_the_budget_and_say_the_cluster_is_busy(rig: Rig) -> None:
    rig.proxy.add_rule("GET", r"/api/v1/nodes$", "500")
    started = time.monotonic()
    with pytest.raises(TransientBackendError) as err:
        rig.kube.snapshot()
    elapsed = time.monotonic() - started
    assert err.value.system == "kubernetes" and err.value.status == 500
    assert not err.value.ambiguous, "a read changes nothing: its failure is never ambiguous"
    assert 1.0 < elapsed < 8.0, elapsed  # several attempts, and none started after the 3 s budget (slack: load)
    assert len(rig.proxy.faults()) >= 3


def test_a_dry_run_answered_429_is_busy_not_a_refusal(rig: Rig) -> None:
    rig.proxy.add_rule("POST", r"/jobs$", "429", retry_after=1)
    with pytest.raises(TransientBackendError) as err:
        rig.kube.dry_run([job("busy")])
    assert not isinstance(err.value, Rejected) and err.value.status == 429
    assert len(rig.proxy.faults("429")) >= 2  # retried, Retry-After apart, within the budget
    rig.proxy.clear_rules()
    rig.kube.dry_run([job("busy")])  # the same object is fine once the cluster has time
    assert rig.jobs() == []


def test_a_dry_run_the_server_judges_is_a_refusal(rig: Rig) -> None:
    bad = job("bad")
    bad["spec"]["template"]["spec"]["containers"][0]["image"] = ""  # required field: 422 Invalid
    with pytest.raises(DryRunRejected) as err:
        rig.kube.dry_run([bad])
    assert err.value.status == 422 and err.value.system == "kubernetes"
    assert rig.proxy.faults() == []


def test_a_delete_applied_then_answered_500_is_a_delete(rig: Rig) -> None:
    rig.kube.create([job("gone")], "key-1")
    rig.proxy.add_rule("DELETE", r"/jobs/gone$", "apply_then_500")  # every answer is a 500
    assert rig.kube.delete_job(NS, "gone") is True
    assert rig.jobs() == []


def test_a_delete_applied_then_dropped_is_a_delete(rig: Rig) -> None:
    rig.kube.create([job("dropped")], "key-2")
    rig.proxy.add_rule("DELETE", r"/jobs/dropped$", "apply_then_drop", times=1)
    assert rig.kube.delete_job(NS, "dropped") is True
    assert rig.jobs() == []


def test_a_delete_never_applied_is_reported_as_not_applied(rig: Rig) -> None:
    rig.kube.create([job("stays")], "key-3")
    rig.proxy.add_rule("DELETE", r"/jobs/stays$", "500")
    with pytest.raises(TransientBackendError) as err:
        rig.kube.delete_job(NS, "stays")
    assert not err.value.ambiguous, "read back: the Job is still there, so nothing changed"
    assert rig.jobs() == ["stays"]


def test_a_delete_whose_read_back_fails_too_is_ambiguous(rig: Rig) -> None:
    rig.kube.create([job("unsure")], "key-4")
    rig.proxy.add_rule("DELETE", r"/jobs/unsure$", "apply_then_500")
    rig.proxy.add_rule("GET", r"/jobs/unsure$", "500")
    with pytest.raises(TransientBackendError) as err:
        rig.kube.delete_job(NS, "unsure")
    assert err.value.ambiguous


def test_a_service_delete_answered_429_is_retried(rig: Rig) -> None:
    rig.kube.create([job("multi"), service("multi")], "key-5")
    rig.proxy.add_rule("DELETE", r"/services/multi$", "429", times=1, retry_after=1)
    assert rig.kube.delete_job(NS, "multi") is True
    assert rig.jobs() == [] and rig.services() == []


def test_a_dry_run_in_a_missing_namespace_names_it(rig: Rig) -> None:
    absent = job("lost")
    absent["metadata"]["namespace"] = "ml-absent"
    with pytest.raises(NamespaceMissing) as err:
        rig.kube.dry_run([absent])
    assert err.value.namespace == "ml-absent" and err.value.status == 404


def test_a_job_already_gone_is_not_ours_to_report(rig: Rig) -> None:
    assert rig.kube.delete_job(NS, "never") is False


def test_a_create_on_a_name_that_is_not_ours_is_rejected(rig: Rig) -> None:
    theirs = job("taken")
    theirs["metadata"]["annotations"] = {IDEMPOTENCY_ANNOTATION: "theirs"}
    rig.kube.create([theirs], "theirs")
    with pytest.raises(AlreadyExistsNotOurs) as err:
        rig.kube.create([job("taken")], "ours")
    assert err.value.status == 409
    rig.kube.create([theirs], "theirs")  # the same submission again: created already
