"""``chatops sim --jobset`` / ``--trainer``: discovery, CRUD/watch, and the JobSet and TrainJob controllers,
driven through the real kubernetes client over HTTP."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from bot.domain.cluster.workloads import render_workload
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import load_policy
from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from tests.integration.test_sim_api import H100, wait_for
from tests.support.crd_schema import validate

POLICY = load_policy(Path(__file__).parents[1] / "chatops.example.yaml")
NS = "ml-research"
JS = ("jobset.x-k8s.io", "v1alpha2", "jobsets")
TJ = ("trainer.kubeflow.org", "v1alpha1", "trainjobs")


def record(kind: str, **over: Any) -> JobRecord:
    base: dict[str, Any] = dict(name="llama", namespace=NS, team="research", owner="URES0001",
                                image="ghcr.io/acme/train:1.4", gpus=16, nodes=2, gpu_type="h100",
                                time_limit_s=3600, idempotency_key="k1", kind=kind,
                                env={"SIM_DURATION": "10m"}, command=["torchrun", "train.py"])
    base.update(over)
    return JobRecord(**base)


class Sim:
    def __init__(self, srv: SimServer) -> None:
        self.srv = srv
        api = srv.api_client()
        self.custom = client.CustomObjectsApi(api)
        self.core = client.CoreV1Api(api)
        self.batch = client.BatchV1Api(api)

    def get(self, res: tuple[str, str, str], name: str) -> dict[str, Any]:
        out: dict[str, Any] = self.custom.get_namespaced_custom_object(*res[:2], NS, res[2], name)
        return out

    def find(self, res: tuple[str, str, str], name: str) -> dict[str, Any] | None:
        try:
            return self.get(res, name)
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def pods(self, selector: str) -> list[dict[str, Any]]:
        resp = self.core.list_namespaced_pod(NS, label_selector=selector, _preload_content=False)
        items: list[dict[str, Any]] = json.loads(resp.data)["items"]
        return items

    def jobs(self, selector: str) -> list[dict[str, Any]]:
        resp = self.batch.list_namespaced_job(NS, label_selector=selector, _preload_content=False)
        items: list[dict[str, Any]] = json.loads(resp.data)["items"]
        return items


@pytest.fixture()
def sim() -> Iterator[Sim]:
    nodes = [NodeSpec(f"gpu-h100-{i}", 8, H100) for i in range(3)]
    with SimServer(SimCluster(nodes, speed=60.0, namespaces=[NS], extensions=["trainer"])) as srv:
        yield Sim(srv)


def cond(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    return next((c for c in (obj.get("status") or {}).get("conditions") or []
                 if c["type"] == kind and c["status"] == "True"), None)


def env(pod: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pod["spec"]["containers"][0]["env"]}


def test_discovery_serves_the_groups_only_when_installed() -> None:
    with SimServer(SimCluster([], extensions=["jobset"])) as srv:
        groups = client.ApisApi(srv.api_client()).get_api_versions().groups
        assert {"batch", "jobset.x-k8s.io"} <= {g.name for g in groups}
        assert "trainer.kubeflow.org" not in {g.name for g in groups}
        res = client.CustomObjectsApi(srv.api_client()).get_api_resources("jobset.x-k8s.io", "v1alpha2")
        assert "jobsets" in {r.name for r in res.resources}
    with SimServer(SimCluster([])) as srv, pytest.raises(ApiException) as err:
        client.CustomObjectsApi(srv.api_client()).list_cluster_custom_object(*JS)
    assert err.value.status == 404


def test_jobset_children_service_dns_and_completion(sim: Sim) -> None:
    [body] = render_workload(record("jobset"), POLICY)
    sim.custom.create_namespaced_custom_object(*JS[:2], NS, JS[2], body)
    pods = wait_for(lambda: (p := sim.pods("jobset.sigs.k8s.io/jobset-name=llama")) and len(p) == 2 and all(
        x["status"]["phase"] == "Running" for x in p) and p, what="2 running pods")
    [job] = sim.jobs("jobset.sigs.k8s.io/jobset-name=llama")
    labels = job["metadata"]["labels"]
    assert job["metadata"]["name"] == "llama-node-0"
    assert (labels["jobset.sigs.k8s.io/replicatedjob-name"], labels["jobset.sigs.k8s.io/job-index"]) == ("node", "0")
    assert "app.kubernetes.io/managed-by" not in labels  # Job template labels only
    assert job["metadata"]["ownerReferences"][0]["kind"] == "JobSet"
    svc = sim.core.read_namespaced_service("llama", NS)
    assert svc.spec.cluster_ip == "None" and svc.spec.selector == {"jobset.sigs.k8s.io/jobset-name": "llama"}
    hosts = sorted(f"{p['spec']['hostname']}.{p['spec']['subdomain']}" for p in pods)
    assert hosts == ["llama-node-0-0.llama", "llama-node-0-1.llama"]
    assert {env(p)["MASTER_ADDR"] for p in pods} == {hosts[0]}
    wait_for(lambda: sim.get(JS, "llama")["status"]["replicatedJobsStatus"] == [
        {"name": "node", "ready": 1, "succeeded": 0, "failed": 0, "active": 1, "suspended": 0}], what="ready")
    done = wait_for(lambda: cond(sim.get(JS, "llama"), "Completed"), timeout=20, what="Completed")
    assert (done["reason"], done["message"]) == ("AllJobsCompleted", "jobset completed successfully")
    validate(sim.get(JS, "llama"), "jobsets")


def test_jobset_restarts_then_fails_at_max_restarts(sim: Sim) -> None:
    policy = POLICY.model_copy(update={"jobset": POLICY.jobset.model_copy(update={"max_restarts": 1})})
    [body] = render_workload(record("jobset", env={"SIM_DURATION": "1m", "SIM_FAIL": "exit:3"}), policy)
    sim.custom.create_namespaced_custom_object(*JS[:2], NS, JS[2], body)
    failed = wait_for(lambda: cond(sim.get(JS, "llama"), "Failed"), timeout=20, what="Failed")
    assert (failed["reason"], failed["message"]) == (
        "ReachedMaxRestarts", "jobset failed due to reaching max number of restarts")
    js = sim.get(JS, "llama")
    assert js["status"]["restarts"] == 1
    [job] = sim.jobs("jobset.sigs.k8s.io/jobset-name=llama")
    assert job["metadata"]["labels"]["jobset.sigs.k8s.io/restart-attempt"] == "1"


def test_deleting_a_jobset_takes_its_jobs_pods_and_service(sim: Sim) -> None:
    [body] = render_workload(record("jobset"), POLICY)
    sim.custom.create_namespaced_custom_object(*JS[:2], NS, JS[2], body)
    wait_for(lambda: len(sim.pods("jobset.sigs.k8s.io/jobset-name=llama")) == 2, what="pods")
    sim.custom.delete_namespaced_custom_object(*JS[:2], NS, JS[2], "llama", propagation_policy="Background")
    assert not sim.jobs("jobset.sigs.k8s.io/jobset-name=llama")
    assert not sim.pods("jobset.sigs.k8s.io/jobset-name=llama")
    with pytest.raises(ApiException):
        sim.core.read_namespaced_service("llama", NS)


def test_trainjob_builds_a_jobset_from_the_runtime_and_reports_progress(sim: Sim) -> None:
    runtime = sim.custom.get_cluster_custom_object("trainer.kubeflow.org", "v1alpha1", "clustertrainingruntimes",
                                                   "torch-distributed")
    validate(runtime, "clustertrainingruntimes")
    [body] = render_workload(record("trainjob"), POLICY)
    sim.custom.create_namespaced_custom_object(*TJ[:2], NS, TJ[2], body)
    js = wait_for(lambda: sim.find(JS, "llama"), what="the TrainJob's JobSet")
    assert js["metadata"]["ownerReferences"][0]["kind"] == "TrainJob"
    pods = wait_for(lambda: (p := sim.pods("jobset.sigs.k8s.io/jobset-name=llama")) and len(p) == 2 and all(
        x["status"]["phase"] == "Running" for x in p) and p, what="running pods")
    e = env(pods[0])
    assert e["PET_MASTER_ADDR"] == "llama-node-0-0.llama" and e["PET_NNODES"] == "2"
    assert e["PET_NPROC_PER_NODE"] == "8" and e["SIM_DURATION"] == "10m"
    assert pods[0]["metadata"]["labels"]["chatops.io/owner"] == "URES0001"  # from runtimePatches
    assert pods[0]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "8"
    progress = wait_for(lambda: ((sim.get(TJ, "llama")["status"].get("trainerStatus") or {})
                                 .get("progressPercentage") or 0) > 10, timeout=10, what="progress")
    assert progress
    done = wait_for(lambda: cond(sim.get(TJ, "llama"), "Complete"), timeout=20, what="Complete")
    assert done["reason"] == "AllJobsCompleted"
    tj = sim.get(TJ, "llama")
    assert tj["status"]["trainerStatus"]["progressPercentage"] == 100
    validate(tj, "trainjobs")


def test_trainjob_naming_a_missing_runtime_is_refused(sim: Sim) -> None:
    policy = POLICY.model_copy(update={"trainer": POLICY.trainer.model_copy(update={"runtime": "deepspeed"})})
    [body] = render_workload(dataclasses.replace(record("trainjob")), policy)
    with pytest.raises(ApiException) as err:
        sim.custom.create_namespaced_custom_object(*TJ[:2], NS, TJ[2], body)
    assert err.value.status == 422 and "deepspeed" in err.value.body
