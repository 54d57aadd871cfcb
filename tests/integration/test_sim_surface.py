"""The sim's API surface beyond the verbs: Namespaces and their admission, server-side Tables, OpenAPI v3,
field validation and strategic merge — over HTTP as kube-apiserver answers them."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from bot.sim.printers import human_duration
from tests.integration.test_sim_api import H100, job_body, wait_for

NS = "team-a"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io," \
        "application/json"


@pytest.fixture()
def sim() -> Iterator[SimServer]:
    with SimServer(SimCluster([NodeSpec("n0", 8, H100)], speed=600, namespaces=[NS])) as srv:
        yield srv


def http(sim: SimServer, method: str, path: str, body: Any = None, accept: str = "application/json",
         content_type: str = "application/json") -> tuple[int, Any, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(sim.url + path, data=data, method=method,
                                 headers={"Accept": accept, "Content-Type": content_type})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read()), resp.headers
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), err.headers


def test_namespaces_list_get_create_delete(sim: SimServer) -> None:
    core = client.CoreV1Api(sim.api_client())
    assert [n.metadata.name for n in core.list_namespace().items] == ["default", "kube-system", NS]
    made = core.create_namespace({"metadata": {"name": "ml-x"}})
    assert made.status.phase == "Active" and made.spec.finalizers == ["kubernetes"]
    assert made.metadata.labels == {"kubernetes.io/metadata.name": "ml-x"}
    assert core.read_namespace("ml-x").metadata.uid == made.metadata.uid
    with pytest.raises(ApiException) as dup:
        core.create_namespace({"metadata": {"name": "ml-x"}})
    assert dup.value.status == 409 and json.loads(dup.value.body)["details"] == {"name": "ml-x", "kind": "namespaces"}
    bad = http(sim, "POST", "/api/v1/namespaces", {"metadata": {"name": "ML_X"}})
    assert bad[0] == 422 and bad[1]["reason"] == "Invalid"

    batch = client.BatchV1Api(sim.api_client())
    batch.create_namespaced_job("ml-x", job_body("inside", suspend=True))
    code, gone, _ = http(sim, "DELETE", "/api/v1/namespaces/ml-x")
    # the answer is the namespace going away; it and its content are gone after
    assert code == 200 and gone["kind"] == "Namespace" and gone["status"]["phase"] == "Terminating"
    assert gone["metadata"]["deletionTimestamp"]
    assert http(sim, "GET", "/api/v1/namespaces/ml-x")[0] == 404
    assert sim.cluster.store.get("jobs", "ml-x", "inside") is None
    code, status, _ = http(sim, "DELETE", "/api/v1/namespaces/default")
    assert (code, status["reason"], status["message"]) == (
        403, "Forbidden", 'namespaces "default" is forbidden: this namespace may not be deleted')


@pytest.mark.parametrize(("path", "body"), [
    ("/apis/batch/v1/namespaces/ml-x/jobs", job_body("j")),
    ("/api/v1/namespaces/ml-x/pods",
     {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}),
    ("/api/v1/namespaces/ml-x/services", {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}),
    ("/api/v1/namespaces/ml-x/events", {"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "p"}}),
])
def test_content_in_a_missing_namespace_is_404_namespace_not_found(sim: SimServer, path: str,
                                                                    body: dict[str, Any]) -> None:
    expected = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": 'namespaces "ml-x" not found', "reason": "NotFound",
                "details": {"name": "ml-x", "kind": "namespaces"}, "code": 404}
    for query in ("", "?dryRun=All"):  # admission runs in a dry run too
        code, status, _ = http(sim, "POST", path + query, body)
        assert (code, status) == (404, expected)
    # reading a missing namespace is an empty list, as on a real cluster
    assert http(sim, "GET", path)[1]["items"] == []


def test_pod_and_job_tables(sim: SimServer) -> None:
    batch = client.BatchV1Api(sim.api_client())
    batch.create_namespaced_job(NS, job_body("t", gpus=8, env={"SIM_DURATION": "2h"}))

    def running_row() -> dict[str, Any] | None:
        table = http(sim, "GET", f"/api/v1/namespaces/{NS}/pods", accept=TABLE)[1]
        rows = table["rows"]
        return table if rows and rows[0]["cells"][2] == "Running" else None

    table = wait_for(running_row, what="a Running row")
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert [(c["name"], c["priority"]) for c in table["columnDefinitions"]] == [
        ("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0), ("IP", 1), ("Node", 1),
        ("Nominated Node", 1), ("Readiness Gates", 1)]
    row = table["rows"][0]
    name, ready, _status, restarts, _age, ip, node, nominated, gates = row["cells"]
    assert name.startswith("t-") and ready == "1/1" and restarts == "0" and node == "n0"
    assert ip.startswith("10.244.") and nominated == gates == "<none>"
    assert row["object"]["kind"] == "PartialObjectMetadata" and row["object"]["metadata"]["name"] == name
    assert "resourceVersion" in table["metadata"]
    assert "object" not in http(sim, "GET", f"/api/v1/namespaces/{NS}/pods?includeObject=None",
                                accept=TABLE)[1]["rows"][0]

    jobs = http(sim, "GET", f"/apis/batch/v1/namespaces/{NS}/jobs/t", accept=TABLE)[1]
    assert [c["name"] for c in jobs["columnDefinitions"] if c["priority"] == 0] == [
        "Name", "Status", "Completions", "Duration", "Age"]
    assert jobs["rows"][0]["cells"][:3] == ["t", "Running", "0/1"]
    assert jobs["rows"][0]["cells"][5:7] == ["train", "ghcr.io/acme/train:1"]
    # without the Table Accept header the same URL answers the object
    assert http(sim, "GET", f"/apis/batch/v1/namespaces/{NS}/jobs/t")[1]["kind"] == "Job"


def test_node_namespace_event_service_tables(sim: SimServer) -> None:
    nodes = http(sim, "GET", "/api/v1/nodes", accept=TABLE)[1]
    assert nodes["rows"][0]["cells"][:3] == ["n0", "Ready", "<none>"] and nodes["rows"][0]["cells"][4] == "v1.31.0"
    namespaces = http(sim, "GET", "/api/v1/namespaces", accept=TABLE)[1]
    assert [r["cells"][:2] for r in namespaces["rows"]] == [["default", "Active"], ["kube-system", "Active"],
                                                           [NS, "Active"]]
    client.CoreV1Api(sim.api_client()).create_namespaced_service(
        NS, {"metadata": {"name": "rdzv"}, "spec": {"clusterIP": "None", "ports": [{"port": 29500}]}})
    services = http(sim, "GET", f"/api/v1/namespaces/{NS}/services", accept=TABLE)[1]
    assert services["rows"][0]["cells"][:5] == ["rdzv", "ClusterIP", "None", "<none>", "29500/TCP"]
    client.BatchV1Api(sim.api_client()).create_namespaced_job(NS, job_body("ev", gpus=1))

    def scheduled() -> list[Any] | None:
        rows = http(sim, "GET", f"/api/v1/namespaces/{NS}/events", accept=TABLE)[1]["rows"]
        return next((r["cells"] for r in rows if r["cells"][2] == "Scheduled"), None)

    cells = wait_for(scheduled, what="a Scheduled event row")
    assert cells[1] == "Normal" and cells[3].startswith("pod/ev-") and cells[5] == "default-scheduler"
    assert cells[6].startswith("Successfully assigned") and cells[8] == 1


def test_watch_as_table(sim: SimServer) -> None:
    client.BatchV1Api(sim.api_client()).create_namespaced_job(NS, job_body("w", suspend=True))
    wait_for(lambda: (sim.cluster.store.get("jobs", NS, "w") or {}).get("status", {}).get("conditions"),
             what="the Suspended condition")
    req = urllib.request.Request(f"{sim.url}/apis/batch/v1/namespaces/{NS}/jobs?watch=1&timeoutSeconds=1",
                                 headers={"Accept": TABLE})
    with urllib.request.urlopen(req, timeout=10) as resp:
        events = [json.loads(line) for line in resp.read().splitlines() if line.strip()]
    assert events[0]["type"] == "ADDED" and events[0]["object"]["kind"] == "Table"
    assert events[0]["object"]["rows"][0]["cells"][:2] == ["w", "Suspended"]


def test_human_duration_matches_apimachinery() -> None:
    cases = {0: "0s", 119: "119s", 120: "2m", 150: "2m30s", 600: "10m", 3 * 3600: "3h", 3 * 3600 + 60: "3h1m",
             10 * 3600: "10h", 50 * 3600: "2d2h", 9 * 86400: "9d", 800 * 86400: "2y70d", -5: "<invalid>"}
    assert {s: human_duration(s) for s in cases} == cases


def test_openapi_v3_tells_kubectl_patch_takes_field_validation(sim: SimServer) -> None:
    index = http(sim, "GET", "/openapi/v3")[1]
    url = index["paths"]["apis/batch/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/apis/batch/v1?hash=") and "api/v1" in index["paths"]
    doc = http(sim, "GET", url)[1]
    patch = doc["paths"]["/apis/batch/v1/namespaces/{namespace}/jobs/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "batch", "version": "v1", "kind": "Job"}
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
    schemas = doc["components"]["schemas"]
    assert schemas["io.k8s.api.batch.v1.Job"]["x-kubernetes-group-version-kind"][0]["kind"] == "Job"
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert http(sim, "GET", "/openapi/v3/apis/nothing/v1")[0] == 404


def test_field_validation_strict_warn_ignore(sim: SimServer) -> None:
    body = job_body("fv", suspend=True)
    body["spec"]["template"]["spec"]["containers"][0]["imagee"] = "typo"
    body["spec"]["colour"] = "blue"
    path = f"/apis/batch/v1/namespaces/{NS}/jobs"
    code, status, _ = http(sim, "POST", path + "?fieldValidation=Strict", body)
    assert (code, status["reason"]) == (400, "BadRequest")
    assert status["message"] == ('Job in version "v1" cannot be handled as a Job: strict decoding error: '
                                 'unknown field "spec.template.spec.containers[0].imagee", unknown field "spec.colour"')
    code, job, headers = http(sim, "POST", path, body)  # Warn is the default
    assert code == 201 and "colour" not in job["spec"]
    assert headers.get_all("Warning") == ['299 - "unknown field \\"spec.template.spec.containers[0].imagee\\""',
                                          '299 - "unknown field \\"spec.colour\\""']
    code, _, headers = http(sim, "PATCH", f"{path}/fv?fieldValidation=Ignore", {"spec": {"colour": "red"}},
                            content_type="application/merge-patch+json")
    assert code == 200 and headers.get_all("Warning") is None
    assert "colour" not in sim.cluster.store.get("jobs", NS, "fv")["spec"]  # type: ignore[index]


def test_strategic_merge_patch_merges_keyed_lists(sim: SimServer) -> None:
    client.BatchV1Api(sim.api_client()).create_namespaced_job(NS, job_body("smp", suspend=True, env={"A": "1"}))
    patch = {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "train"}],
        "containers": [{"name": "train", "$setElementOrder/env": [{"name": "A"}, {"name": "B"}],
                        "env": [{"name": "B", "value": "2"}]}]}}}}
    code, job, _ = http(sim, "PATCH", f"/apis/batch/v1/namespaces/{NS}/jobs/smp", patch,
                        content_type="application/strategic-merge-patch+json")
    assert code == 200
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/acme/train:1"  # kept: the patch only names the container
    assert container["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    delete = {"spec": {"template": {"spec": {"containers": [{"name": "train", "env": [
        {"name": "A", "$patch": "delete"}]}]}}}}
    job = http(sim, "PATCH", f"/apis/batch/v1/namespaces/{NS}/jobs/smp", delete,
               content_type="application/strategic-merge-patch+json")[1]
    assert job["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "B", "value": "2"}]


def test_sim_cli_namespaces_from_flags_and_policy(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("chatops")
    bad = subprocess.run([str(exe), "sim", "--namespace", "ML_X"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--namespace 'ML_X'" in bad.stdout
    broken = tmp_path / "policy.yaml"
    broken.write_text("teams: {}\n")
    bad = subprocess.run([str(exe), "sim", "--config", str(broken)], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and f"--config {broken}" in bad.stdout and "gpu_types" in bad.stdout
