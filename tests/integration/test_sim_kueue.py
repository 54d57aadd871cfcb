"""``chatops sim --kueue``: Kueue's v1beta2 kinds and visibility API through the real kubernetes client
and kubectl, and the admission controller's documented semantics (quota per flavor, cohort borrowing and
reclaim, priority then FIFO, preemption, eviction, deactivation, maximum execution time)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from bot.sim.apiserver import SimServer
from bot.sim.cluster import SimCluster, node_specs, parse_gpu_type_arg
from tests.support.waiting import wait

G, V = "kueue.x-k8s.io", "v1beta2"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples/chatops.yaml"
KUBECTL = shutil.which("kubectl")


@pytest.fixture
def sim() -> Iterator[SimServer]:
    cluster = SimCluster(node_specs(parse_gpu_type_arg("3x8:h100")), speed=60, namespaces=["team-a", "team-b"],
                         kueue=True)
    with SimServer(cluster) as srv:
        co = client.CustomObjectsApi(srv.api_client())
        co.create_cluster_custom_object(G, V, "resourceflavors", {
            "apiVersion": f"{G}/{V}", "kind": "ResourceFlavor", "metadata": {"name": "h100"},
            "spec": {"nodeLabels": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"}}})
        for name, value in (("low", 100), ("high", 10000)):
            co.create_cluster_custom_object(G, V, "workloadpriorityclasses", {
                "apiVersion": f"{G}/{V}", "kind": "WorkloadPriorityClass", "metadata": {"name": name}, "value": value})
        for team in ("a", "b"):
            co.create_cluster_custom_object(G, V, "clusterqueues", {
                "apiVersion": f"{G}/{V}", "kind": "ClusterQueue", "metadata": {"name": f"cq-{team}"},
                "spec": {"cohortName": "all", "namespaceSelector": {},
                         "preemption": {"reclaimWithinCohort": "Any", "withinClusterQueue": "LowerPriority"},
                         "resourceGroups": [{"coveredResources": ["nvidia.com/gpu"], "flavors": [
                             {"name": "h100", "resources": [{"name": "nvidia.com/gpu", "nominalQuota": 8}]}]}]}})
            co.create_namespaced_custom_object(G, V, f"team-{team}", "localqueues", {
                "apiVersion": f"{G}/{V}", "kind": "LocalQueue", "metadata": {"name": "q"},
                "spec": {"clusterQueue": f"cq-{team}"}})
        yield srv


def _job(name: str, gpus: int, priority: str | None = None, max_exec: int | None = None,
         duration: str = "1h") -> dict[str, Any]:
    labels = {"kueue.x-k8s.io/queue-name": "q"}
    if priority:
        labels["kueue.x-k8s.io/priority-class"] = priority
    if max_exec:
        labels["kueue.x-k8s.io/max-exec-time-seconds"] = str(max_exec)
    container = {"name": "main", "image": "ghcr.io/acme/train:1", "env": [{"name": "SIM_DURATION", "value": duration}],
                 "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "labels": labels},
            "spec": {"suspend": True, "backoffLimit": 0,
                     "template": {"spec": {"restartPolicy": "Never", "containers": [container]}}}}


def _workload(srv: SimServer, ns: str, job: str) -> dict[str, Any] | None:
    items = client.CustomObjectsApi(srv.api_client()).list_namespaced_custom_object(G, V, ns, "workloads")["items"]
    return next((w for w in items if w["metadata"]["ownerReferences"][0]["name"] == job), None)


def _cond(wl: dict[str, Any] | None, kind: str) -> dict[str, Any]:
    return next((c for c in (wl or {}).get("status", {}).get("conditions", []) if c["type"] == kind), {})


def _admitted(srv: SimServer, ns: str, job: str) -> bool:
    return _cond(_workload(srv, ns, job), "Admitted").get("status") == "True"


def _get(srv: SimServer, path: str) -> Any:
    with urllib.request.urlopen(srv.url + path) as r:
        return json.loads(r.read())


def test_a_queued_job_gets_a_workload_and_is_started_on_admission(sim: SimServer) -> None:
    batch = client.BatchV1Api(sim.api_client())
    job = batch.create_namespaced_job("team-a", _job("train", 8, "high", max_exec=3600))
    wait(lambda: _admitted(sim, "team-a", "train"), what="admission")
    wl = _workload(sim, "team-a", "train")
    assert wl is not None and wl["metadata"]["name"].startswith("job-train-")
    assert wl["metadata"]["labels"]["kueue.x-k8s.io/job-uid"] == job.metadata.uid
    owner = wl["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("Job", job.metadata.uid, True)
    assert wl["spec"]["podSets"][0]["name"] == "main" and wl["spec"]["podSets"][0]["count"] == 1
    assert wl["spec"]["priority"] == 10000 and wl["spec"]["priorityClassRef"]["name"] == "high"
    assert wl["spec"]["maximumExecutionTimeSeconds"] == 3600
    assert wl["status"]["admission"]["clusterQueue"] == "cq-a"
    assert wl["status"]["admission"]["podSetAssignments"][0]["flavors"] == {"nvidia.com/gpu": "h100"}
    assert _cond(wl, "QuotaReserved")["message"] == "Quota reserved in ClusterQueue cq-a"
    wait(lambda: batch.read_namespaced_job("train", "team-a").spec.suspend is False, what="unsuspended")
    wait(lambda: (batch.read_namespaced_job("train", "team-a").status.active or 0) == 1, what="pod running")
    batch.delete_namespaced_job("train", "team-a", propagation_policy="Background")
    wait(lambda: _workload(sim, "team-a", "train") is None, what="workload garbage-collected")


def test_borrowing_then_reclaim_preempts_the_borrower_with_kueues_conditions(sim: SimServer) -> None:
    batch = client.BatchV1Api(sim.api_client())
    batch.create_namespaced_job("team-a", _job("a1", 8))
    wait(lambda: _admitted(sim, "team-a", "a1"), what="a1 admitted")
    batch.create_namespaced_job("team-a", _job("a2", 8))  # borrows team b's idle quota in the cohort
    wait(lambda: _admitted(sim, "team-a", "a2"), what="a2 admitted by borrowing")
    batch.create_namespaced_job("team-a", _job("a3", 8))
    msg = "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor h100, " \
          "8 more needed"
    wait(lambda: _cond(_workload(sim, "team-a", "a3"), "QuotaReserved").get("message") == msg, what="a3 pending")
    pending = _get(sim, "/apis/visibility.kueue.x-k8s.io/v1beta2/namespaces/team-a/localqueues/q/pendingworkloads")
    assert pending["kind"] == "PendingWorkloadsSummary"
    assert [(i["metadata"]["name"].split("-")[1], i["positionInClusterQueue"]) for i in pending["items"]] == [("a3", 0)]
    b1 = batch.create_namespaced_job("team-b", _job("b1", 8))
    wait(lambda: _admitted(sim, "team-b", "b1"), what="b1 reclaims its quota")
    victims = [w for w in ("a1", "a2") if _cond(_workload(sim, "team-a", w), "Evicted").get("status") == "True"]
    assert len(victims) == 1
    wl = _workload(sim, "team-a", victims[0])
    b1_wl = _workload(sim, "team-b", "b1")
    assert b1_wl is not None
    preempted = _cond(wl, "Preempted")
    assert preempted["reason"] == "InCohortReclamation"
    assert preempted["message"] == (
        f"Preempted to accommodate a workload (UID: {b1_wl['metadata']['uid']}, JobUID: {b1.metadata.uid}) due to "
        "reclamation within the cohort; preemptor path: /all/cq-b; preemptee path: /all/cq-a")
    assert _cond(wl, "Evicted")["reason"] == "Preempted"
    wait(lambda: _cond(_workload(sim, "team-a", victims[0]), "Requeued").get("status") == "True", what="requeued")
    assert batch.read_namespaced_job(victims[0], "team-a").spec.suspend is True
    summary = _get(sim, "/apis/visibility.kueue.x-k8s.io/v1beta2/clusterqueues/cq-a/pendingworkloads")
    assert [i["positionInClusterQueue"] for i in summary["items"]] == [0, 1]  # the requeued one and a3


def test_priority_then_fifo_and_preemption_within_the_cluster_queue(sim: SimServer) -> None:
    batch = client.BatchV1Api(sim.api_client())
    batch.create_namespaced_job("team-b", _job("fill", 8))  # team b holds its quota: nothing to borrow
    batch.create_namespaced_job("team-a", _job("low1", 8, "low"))
    wait(lambda: _admitted(sim, "team-a", "low1") and _admitted(sim, "team-b", "fill"), what="quota used")
    batch.create_namespaced_job("team-a", _job("low2", 8, "low"))
    batch.create_namespaced_job("team-a", _job("urgent", 8, "high"))
    wait(lambda: _admitted(sim, "team-a", "urgent"), what="the high-priority job preempts low1")
    assert _cond(_workload(sim, "team-a", "low1"), "Preempted")["reason"] == "InClusterQueue"
    summary = _get(sim, "/apis/visibility.kueue.x-k8s.io/v1beta2/clusterqueues/cq-a/pendingworkloads")
    names = [i["metadata"]["ownerReferences"][0]["name"] for i in summary["items"]]
    assert names == ["low1", "low2"]  # FIFO by creation among equal priorities; the preempted keeps its place


def test_deactivation_and_maximum_execution_time_evict(sim: SimServer) -> None:
    batch = client.BatchV1Api(sim.api_client())
    co = client.CustomObjectsApi(sim.api_client())
    batch.create_namespaced_job("team-a", _job("held", 1))
    batch.create_namespaced_job("team-a", _job("capped", 1, max_exec=120))  # 2 simulated minutes: 2 s here
    wait(lambda: _admitted(sim, "team-a", "held"), what="admitted")
    wl = _workload(sim, "team-a", "held")
    assert wl is not None
    co.patch_namespaced_custom_object(G, V, "team-a", "workloads", wl["metadata"]["name"], {"spec": {"active": False}})
    wait(lambda: _cond(_workload(sim, "team-a", "held"), "Evicted").get("reason") == "Deactivated", what="evicted")
    wait(lambda: batch.read_namespaced_job("held", "team-a").spec.suspend is True, what="suspended again")
    capped = wait(lambda: (w := _workload(sim, "team-a", "capped")) and
                  _cond(w, "Evicted").get("reason") == "DeactivatedDueToMaximumExecutionTimeExceeded" and w,
                  what="maximum execution time")
    assert capped["spec"]["active"] is False


def test_finished_job_finishes_its_workload_and_frees_quota(sim: SimServer) -> None:
    batch = client.BatchV1Api(sim.api_client())
    batch.create_namespaced_job("team-a", _job("quick", 8, duration="30s"))
    wait(lambda: _cond(_workload(sim, "team-a", "quick"), "Finished").get("reason") == "Succeeded", what="finished")
    assert _cond(_workload(sim, "team-a", "quick"), "Finished")["message"] == "Job finished successfully"
    cq = client.CustomObjectsApi(sim.api_client()).get_cluster_custom_object(G, V, "clusterqueues", "cq-a")
    assert wait(lambda: client.CustomObjectsApi(sim.api_client()).get_cluster_custom_object(
        G, V, "clusterqueues", "cq-a")["status"]["admittedWorkloads"] == 0, what="quota freed") and cq


def test_without_kueue_the_kinds_are_not_served() -> None:
    with SimServer(SimCluster(node_specs(parse_gpu_type_arg("1x8:h100")))) as srv:
        groups = [g["name"] for g in _get(srv, "/apis")["groups"]]
        assert "kueue.x-k8s.io" not in groups
        with pytest.raises(client.ApiException) as err:
            client.CustomObjectsApi(srv.api_client()).list_cluster_custom_object(G, V, "clusterqueues")
        assert err.value.status == 404


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_kubectl_applies_chatops_kueue_config(tmp_path: Path) -> None:
    cluster = SimCluster(node_specs(parse_gpu_type_arg("1x8:h100")), namespaces=["ml-research", "ml-vision"],
                         kueue=True)
    with SimServer(cluster) as srv:
        env = {**os.environ, "KUBECONFIG": str(srv.write_kubeconfig(tmp_path / "kubeconfig"))}
        objects = subprocess.run([sys.executable, "-m", "bot.cli", "kueue-config", str(EXAMPLE)],
                                 capture_output=True, text=True, check=True).stdout
        applied = subprocess.run([str(KUBECTL), "apply", "-f", "-"], input=objects, env=env, capture_output=True,
                                 text=True, timeout=60)
        assert applied.returncode == 0, applied.stderr
        assert "clusterqueue.kueue.x-k8s.io/gpu-chatops-research created" in applied.stdout
        again = subprocess.run([str(KUBECTL), "apply", "-f", "-"], input=objects, env=env, capture_output=True,
                               text=True, timeout=60)
        assert again.returncode == 0 and "localqueue.kueue.x-k8s.io/gpu-chatops unchanged" in again.stdout
        listed = subprocess.run([str(KUBECTL), "get", "localqueues", "-A", "-o", "name"], env=env,
                                capture_output=True, text=True, timeout=60, check=True).stdout
        assert listed.split() == ["localqueue.kueue.x-k8s.io/gpu-chatops"] * 2
