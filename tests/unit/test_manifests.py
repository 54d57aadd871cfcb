"""Rendering of Jobs and Services: shape, labels, arithmetic, and the Kubernetes OpenAPI schema."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.cluster.manifests import (
    MANAGED_BY_SELECTOR,
    job_labels,
    multiply_quantity,
    render_job,
    render_service,
)
from bot.domain.errors import ClusterFactError
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import Policy, load_policy

K8S_VERSION = kubernetes_validate.latest_version()
POLICY = load_policy(Path(__file__).parents[1] / "chatops.example.yaml")
# A Kubernetes quantity as the API server parses it (the JSON schema does not check the pattern).
QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?")


def validate(obj: dict[str, Any]) -> None:
    # strict: unknown fields are errors, so a typo in a field name fails here and not in the cluster.
    kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


@pytest.fixture
def policy() -> Policy:
    return POLICY


def make_record(**over: Any) -> JobRecord:
    base: dict[str, Any] = dict(
        name="bert-ft",
        namespace="ml-research",
        team="research",
        owner="URES0001",
        image="ghcr.io/acme/llama-train:2.1",
        gpus=8,
        gpu_type="h100",
        time_limit_s=12 * 3600,
        priority="high",
        idempotency_key="T0001:URES0001:abc123",
    )
    base.update(over)
    return JobRecord(**base)


def pod_spec(job: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = job["spec"]["template"]["spec"]
    return spec


def env_of(job: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in pod_spec(job)["containers"][0]["env"]}


def test_single_node_job(policy: Policy) -> None:
    rec = make_record(command=["python", "train.py"], env={"Z_VAR": "1", "A_VAR": "x"})
    job = render_job(rec, policy)
    validate(job)
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    assert job["metadata"]["name"] == "bert-ft" and job["metadata"]["namespace"] == "ml-research"
    spec = job["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 12 * 3600
    assert spec["ttlSecondsAfterFinished"] > 0
    assert spec["suspend"] is False
    assert "completionMode" not in spec
    pod = pod_spec(job)
    assert pod["restartPolicy"] == "Never"
    assert pod["enableServiceLinks"] is False
    assert pod["terminationGracePeriodSeconds"] == policy.job_defaults.termination_grace_period_s
    assert "subdomain" not in pod
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod["tolerations"]
    (c,) = pod["containers"]
    assert c["name"] == "trainer" and c["image"] == rec.image
    assert c["command"] == ["python", "train.py"]
    names = [e["name"] for e in c["env"]]
    assert names[:2] == ["A_VAR", "Z_VAR"]  # user env sorted, before the bot's own
    assert env_of(job)["CHATOPS_JOB_NAME"] == "bert-ft"
    assert "MASTER_ADDR" not in names and "NODE_RANK" not in names
    assert render_service(rec, policy) is None


def test_suspend_flag(policy: Policy) -> None:
    job = render_job(make_record(), policy, suspend=True)
    validate(job)
    assert job["spec"]["suspend"] is True


def test_image_default_command_is_omitted(policy: Policy) -> None:
    job = render_job(make_record(command=None), policy)
    assert "command" not in pod_spec(job)["containers"][0]
    assert "args" not in pod_spec(job)["containers"][0]


@pytest.mark.parametrize("short", sorted(POLICY.gpu_types))
def test_node_selector_from_policy(policy: Policy, short: str) -> None:
    job = render_job(make_record(gpu_type=short), policy)
    validate(job)
    assert pod_spec(job)["nodeSelector"] == {"nvidia.com/gpu.product": policy.gpu_types[short]}
    assert job["metadata"]["labels"]["chatops.io/gpu-type"] == short


def test_unknown_gpu_type_is_refused(policy: Policy) -> None:
    with pytest.raises(ClusterFactError) as err:
        render_job(make_record(gpu_type="z9000"), policy)
    assert err.value.fix is not None and "h100" in err.value.fix


@pytest.mark.parametrize(("gpus", "nodes"), [(12, 8), (2, 4), (6, 4)])
def test_uneven_split_is_refused(policy: Policy, gpus: int, nodes: int) -> None:
    with pytest.raises(ClusterFactError, match="evenly"):
        render_job(make_record(gpus=gpus, nodes=nodes), policy)


def test_labels_and_annotations(policy: Policy) -> None:
    rec = make_record(nodes=2, gpus=16)
    expected = {
        "app.kubernetes.io/managed-by": "gpu-chatops",
        "chatops.io/owner": "URES0001",
        "chatops.io/team": "research",
        "app.kubernetes.io/name": "bert-ft",
        "chatops.io/gpu-type": "h100",
    }
    assert job_labels(rec) == expected
    job = render_job(rec, policy)
    svc = render_service(rec, policy)
    assert svc is not None
    for obj_labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"],
                       svc["metadata"]["labels"]):
        assert obj_labels == expected
    ann = job["metadata"]["annotations"]
    assert ann == {
        "chatops.io/idempotency-key": "T0001:URES0001:abc123",
        "chatops.io/priority": "high",
        "chatops.io/time-limit": str(12 * 3600),
        "chatops.io/gpus": "16",
    }
    key, value = MANAGED_BY_SELECTOR.split("=")
    assert job["metadata"]["labels"][key] == value


@pytest.mark.parametrize(
    ("memory_per_gpu", "cpu_per_gpu", "gpus", "mem", "cpu"),
    [("64Gi", 8, 8, "512Gi", "64"), ("64Gi", 8, 1, "64Gi", "8"), ("1.5Gi", 4, 3, "4608Mi", "12"),
     ("500M", 2, 4, "2000M", "8")],
)
def test_resources_arithmetic(
    policy: Policy, memory_per_gpu: str, cpu_per_gpu: int, gpus: int, mem: str, cpu: str
) -> None:
    defaults = policy.job_defaults.model_copy(update={"memory_per_gpu": memory_per_gpu,
                                                      "cpu_per_gpu": cpu_per_gpu})
    pol = policy.model_copy(update={"job_defaults": defaults})
    job = render_job(make_record(gpus=gpus), pol)
    validate(job)
    res = pod_spec(job)["containers"][0]["resources"]
    want = {"nvidia.com/gpu": str(gpus), "cpu": cpu, "memory": mem}
    assert res["limits"] == want and res["requests"] == want


@pytest.mark.parametrize(
    ("q", "n", "out"),
    [("64Gi", 8, "512Gi"), ("32Gi", 1, "32Gi"), ("0.5Gi", 3, "1536Mi"), ("100m", 3, "300m"),
     ("500M", 3, "1500M"), ("1.5", 1, "1500m"), ("1Ki", 1024, "1024Ki"), ("7", 6, "42")],
)
def test_multiply_quantity(q: str, n: int, out: str) -> None:
    assert multiply_quantity(q, n) == out


def test_multiply_quantity_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        multiply_quantity("64 gigs", 2)


def test_shm_volume(policy: Policy) -> None:
    pod = pod_spec(render_job(make_record(), policy))
    assert pod["volumes"] == [
        {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": policy.job_defaults.shm_size}}
    ]
    assert {"name": "dshm", "mountPath": "/dev/shm"} in pod["containers"][0]["volumeMounts"]


def test_multi_node_job_and_service(policy: Policy) -> None:
    rec = make_record(nodes=4, gpus=32, env={"MASTER_ADDR": "evil", "LR": "3e-4"})
    job = render_job(rec, policy)
    validate(job)
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] == 4
    assert spec["backoffLimit"] == 0
    pod = pod_spec(job)
    assert pod["subdomain"] == "bert-ft"
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "8"
    env = env_of(job)
    assert env["MASTER_ADDR"] == "bert-ft-0.bert-ft"  # the user's value cannot break rendezvous
    assert [e["name"] for e in pod["containers"][0]["env"]].count("MASTER_ADDR") == 1
    assert env["MASTER_PORT"] == str(policy.job_defaults.master_port)
    assert env["NNODES"] == "4" and env["NPROC_PER_NODE"] == "8" and env["LR"] == "3e-4"
    assert env["NODE_RANK"] == {
        "fieldRef": {"fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}
    }

    svc = render_service(rec, policy)
    assert svc is not None
    validate(svc)
    assert svc["apiVersion"] == "v1" and svc["kind"] == "Service"
    assert svc["metadata"]["name"] == pod["subdomain"]
    assert svc["metadata"]["namespace"] == "ml-research"
    s = svc["spec"]
    assert s["clusterIP"] == "None" and s["publishNotReadyAddresses"] is True
    assert [p["port"] for p in s["ports"]] == [policy.job_defaults.master_port]
    # The selector must match the pod template's labels, or the names never resolve.
    tpl_labels = job["spec"]["template"]["metadata"]["labels"]
    assert s["selector"] and all(tpl_labels.get(k) == v for k, v in s["selector"].items())


def test_schema_check_is_strict(policy: Policy) -> None:
    # Guards the guard: a misspelt field must make validation fail.
    job = render_job(make_record(), policy)
    pod_spec(job)["nodeSelectr"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(job)


# --- property: every valid record renders to schema-valid objects ------------------------------

_names = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?\Z")
_env_keys = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,20}\Z")


@st.composite
def records(draw: st.DrawFn) -> JobRecord:
    nodes = draw(st.integers(1, POLICY.limits.max_nodes_per_job))
    per_node = draw(st.integers(1, 8))
    team = draw(st.sampled_from(sorted(POLICY.teams)))
    cmd = draw(st.none() | st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=4))
    return JobRecord(
        name=draw(_names),
        namespace=POLICY.teams[team].namespace,
        team=team,
        owner=draw(st.from_regex(r"\A[UW][A-Z0-9]{8,10}\Z")),
        image=draw(st.sampled_from(["ghcr.io/acme/train:1.4", "nvcr.io/nvidia/pytorch:24.05-py3",
                                    "docker.io/library/python:3.11"])),
        gpus=nodes * per_node,
        gpu_type=draw(st.sampled_from(sorted(POLICY.gpu_types))),
        nodes=nodes,
        time_limit_s=draw(st.integers(60, POLICY.limits.max_time_limit)),
        priority=draw(st.sampled_from(["low", "normal", "high"])),
        command=cmd,
        env=draw(st.dictionaries(_env_keys, st.text(max_size=30), max_size=5)),
        idempotency_key=draw(st.text(min_size=1, max_size=40)),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rec=records(), suspend=st.booleans())
def test_property_rendered_manifests_validate(rec: JobRecord, suspend: bool) -> None:
    job = render_job(rec, POLICY, suspend=suspend)
    validate(job)
    res = pod_spec(job)["containers"][0]["resources"]["limits"]
    assert QUANTITY.fullmatch(res["memory"]) and QUANTITY.fullmatch(res["cpu"])
    assert int(res["nvidia.com/gpu"]) * rec.nodes == rec.gpus
    assert len(f"{rec.name}-{rec.nodes - 1}") <= 63  # Indexed pod hostnames must stay DNS labels
    svc = render_service(rec, POLICY)
    assert (svc is None) == (rec.nodes == 1)
    if svc is not None:
        validate(svc)
    # Rendering is pure: the record is not changed and the output is deterministic.
    assert render_job(dataclasses.replace(rec), POLICY, suspend=suspend) == job
