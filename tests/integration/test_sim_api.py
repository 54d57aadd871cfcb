"""The simulated apiserver, driven through the official kubernetes client over HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster

H100 = "NVIDIA-H100-80GB-HBM3"
NS = "team-a"


def wait_for(check: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def job_body(
    name: str,
    gpus: int = 8,
    pods: int = 1,
    env: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    suspend: bool = False,
    **spec: Any,
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "train",
        "image": "ghcr.io/acme/train:1",
        "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
        "resources": {"limits": {"nvidia.com/gpu": str(gpus)}},
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "completions": pods,
            "parallelism": pods,
            "completionMode": "Indexed",
            "backoffLimit": 0,
            "suspend": suspend,
            **spec,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": {"nvidia.com/gpu.product": H100},
                    "containers": [container],
                }
            },
        },
    }


@pytest.fixture()
def sim() -> Iterator[SimServer]:
    cluster = SimCluster([NodeSpec(f"n{i}", 8, H100) for i in range(2)], speed=600, history_limit=200,
                         namespaces=[NS])
    with SimServer(cluster) as srv:
        yield srv


@pytest.fixture()
def batch(sim: SimServer) -> client.BatchV1Api:
    return client.BatchV1Api(sim.api_client())


@pytest.fixture()
def core(sim: SimServer) -> client.CoreV1Api:
    return client.CoreV1Api(sim.api_client())


def test_create_get_list_with_selectors(batch: client.BatchV1Api) -> None:
    created = batch.create_namespaced_job(
        NS, job_body("a", labels={"team": "x", "tier": "gold"}, suspend=True)
    )
    batch.create_namespaced_job(NS, job_body("b", labels={"team": "y"}, suspend=True))
    assert created.metadata.uid and int(created.metadata.resource_version) > 0
    assert created.spec.template.metadata.labels["batch.kubernetes.io/job-name"] == "a"
    assert batch.read_namespaced_job("a", NS).metadata.uid == created.metadata.uid
    names = lambda sel: [j.metadata.name for j in batch.list_namespaced_job(NS, label_selector=sel).items]  # noqa: E731
    assert names("team=x") == ["a"]
    assert names("team!=x") == ["b"]
    assert names("team in (x,y)") == ["a", "b"]
    assert names("team notin (x)") == ["b"]
    assert names("tier") == ["a"]
    assert names("!tier") == ["b"]
    assert names("team=x,tier=gold") == ["a"]
    assert [j.metadata.name for j in batch.list_job_for_all_namespaces().items] == ["a", "b"]
    assert batch.list_namespaced_job("other").items == []


def test_errors_are_status_objects(batch: client.BatchV1Api) -> None:
    batch.create_namespaced_job(NS, job_body("dup", suspend=True))
    with pytest.raises(ApiException) as exc:
        batch.create_namespaced_job(NS, job_body("dup", suspend=True))
    assert exc.value.status == 409 and '"reason":"AlreadyExists"' in exc.value.body.replace(" ", "")
    with pytest.raises(ApiException) as exc:
        batch.read_namespaced_job("missing", NS)
    assert exc.value.status == 404 and 'jobs.batch \\"missing\\" not found' in exc.value.body
    bad = job_body("x" * 64)
    with pytest.raises(ApiException) as exc:
        batch.create_namespaced_job(NS, bad)
    assert exc.value.status == 422 and "no more than 63" in exc.value.body
    bad = job_body("bad-gpu")
    bad["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "1.5"
    with pytest.raises(ApiException) as exc:
        batch.create_namespaced_job(NS, bad)
    assert exc.value.status == 422 and "positive integer" in exc.value.body
    bad = job_body("no-image")
    del bad["spec"]["template"]["spec"]["containers"][0]["image"]
    with pytest.raises(ApiException) as exc:
        batch.create_namespaced_job(NS, bad)
    assert exc.value.status == 422 and "image: Required value" in exc.value.body


def test_dry_run_validates_without_storing(batch: client.BatchV1Api) -> None:
    out = batch.create_namespaced_job(NS, job_body("dry"), dry_run="All")
    assert out.metadata.name == "dry"
    assert batch.list_namespaced_job(NS).items == []
    batch.create_namespaced_job(NS, job_body("dry", suspend=True))
    with pytest.raises(ApiException) as exc:
        batch.create_namespaced_job(NS, job_body("dry"), dry_run="All")
    assert exc.value.status == 409


def test_patch_kinds(batch: client.BatchV1Api) -> None:
    batch.create_namespaced_job(NS, job_body("p", suspend=True))
    out = batch.patch_namespaced_job("p", NS, {"metadata": {"labels": {"owner": "ana"}}})
    assert out.metadata.labels["owner"] == "ana"
    out = batch.patch_namespaced_job(
        "p", NS, [{"op": "replace", "path": "/metadata/labels/owner", "value": "bo"}]
    )
    assert out.metadata.labels["owner"] == "bo"
    out = batch.patch_namespaced_job("p", NS, [{"op": "remove", "path": "/metadata/labels/owner"}])
    assert "owner" not in out.metadata.labels
    out = batch.patch_namespaced_job(
        "p", NS, {"metadata": {"annotations": {"a": "1"}}}, _content_type="application/merge-patch+json"
    )
    assert out.metadata.annotations == {"a": "1"}


def test_delete_propagation(batch: client.BatchV1Api, core: client.CoreV1Api) -> None:
    for name in ("bg", "orphan"):
        batch.create_namespaced_job(NS, job_body(name, gpus=1))
    pods = lambda job: core.list_namespaced_pod(NS, label_selector=f"job-name={job}").items  # noqa: E731
    wait_for(lambda: pods("bg") and pods("orphan"), what="pods")
    status = batch.delete_namespaced_job("bg", NS, propagation_policy="Background")
    assert status["status"] == "Success"
    assert pods("bg") == []
    batch.delete_namespaced_job("orphan", NS, propagation_policy="Orphan")
    assert len(pods("orphan")) == 1
    with pytest.raises(ApiException) as exc:
        batch.delete_namespaced_job("bg", NS)
    assert exc.value.status == 404


def test_list_pagination(batch: client.BatchV1Api) -> None:
    for i in range(5):
        batch.create_namespaced_job(NS, job_body(f"j{i}", suspend=True))
    seen: list[str] = []
    token = None
    while True:
        page = batch.list_namespaced_job(NS, limit=2, _continue=token)
        seen += [j.metadata.name for j in page.items]
        token = page.metadata._continue
        if not token:
            break
    assert seen == [f"j{i}" for i in range(5)]


def test_watch_initial_state_then_changes(batch: client.BatchV1Api) -> None:
    batch.create_namespaced_job(NS, job_body("w0", suspend=True))
    seen: list[tuple[str, str]] = []
    w = watch.Watch()
    for event in w.stream(batch.list_namespaced_job, NS, timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 1:
            batch.create_namespaced_job(NS, job_body("w1", suspend=True))
            batch.delete_namespaced_job("w0", NS)
        if ("DELETED", "w0") in seen:
            w.stop()
    assert seen[0] == ("ADDED", "w0")
    assert ("ADDED", "w1") in seen and ("DELETED", "w0") in seen


def test_watch_resume_and_expired(batch: client.BatchV1Api) -> None:
    rv = batch.list_namespaced_job(NS).metadata.resource_version
    batch.create_namespaced_job(NS, job_body("r1", suspend=True))
    events = list(watch.Watch().stream(batch.list_namespaced_job, NS, resource_version=rv, timeout_seconds=1))
    assert next((e["type"], e["object"].metadata.name) for e in events) == ("ADDED", "r1")
    for i in range(150):  # overflow the 200-change history of the fixture's store
        batch.patch_namespaced_job("r1", NS, {"metadata": {"labels": {"n": str(i)}}})
        batch.patch_namespaced_job("r1", NS, {"metadata": {"labels": {"m": str(i)}}})
    with pytest.raises(ApiException) as exc:
        list(watch.Watch().stream(batch.list_namespaced_job, NS, resource_version=rv, timeout_seconds=1))
    assert exc.value.status == 410 and "too old resource version" in str(exc.value.reason)


def test_nodes_services_and_request_log(sim: SimServer, core: client.CoreV1Api, tmp_path: Path) -> None:
    nodes = core.list_node().items
    assert [n.metadata.labels["nvidia.com/gpu.product"] for n in nodes] == [H100, H100]
    assert nodes[0].status.allocatable["nvidia.com/gpu"] == "8"
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "rdzv"},
        "spec": {"clusterIP": "None", "selector": {"job-name": "x"}, "ports": [{"port": 29500}]},
    }
    core.create_namespaced_service(NS, svc)
    assert core.read_namespaced_service("rdzv", NS).spec.cluster_ip == "None"
    core.delete_namespaced_service("rdzv", NS)
    verbs = {(r.resource, r.verb) for r in sim.request_log}
    assert {("nodes", "list"), ("services", "create"), ("services", "get"), ("services", "delete")} <= verbs
    path = sim.write_kubeconfig(tmp_path / "kubeconfig")
    api = config.new_client_from_config(str(path))
    assert client.CoreV1Api(api).read_node("n0").metadata.name == "n0"
