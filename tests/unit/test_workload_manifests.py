"""JobSet and TrainJob rendering (issue 15): shape, rendezvous, owner labels, and the published CRD schemas."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from bot.domain.cluster import jobset, trainjob
from bot.domain.cluster.manifests import LABEL_MANAGED_BY, LABEL_OWNER, MANAGED_BY
from bot.domain.cluster.workloads import render_workload
from bot.domain.errors import ConfigError
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import Policy, load_policy, parse_policy
from tests.support.crd_schema import validate

POLICY = load_policy(Path(__file__).parents[1] / "chatops.example.yaml")


def record(**over: Any) -> JobRecord:
    base: dict[str, Any] = dict(name="llama-ft", namespace="ml-research", team="research", owner="URES0001",
                                image="ghcr.io/acme/train:1.4", gpus=16, nodes=2, gpu_type="h100",
                                time_limit_s=3600, idempotency_key="T1:URES0001:abc",
                                command=["torchrun", "train.py"], env={"LR": "3e-4"})
    base.update(over)
    return JobRecord(**base)


def policy_with(**over: Any) -> Policy:
    return POLICY.model_copy(update=over)


def env_of(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_jobset_2x8_is_one_replicated_job_with_stable_dns_rendezvous() -> None:
    policy = policy_with(jobset=POLICY.jobset.model_copy(update={"max_restarts": 3}))
    [js] = render_workload(dataclasses.replace(record(), kind="jobset"), policy)
    validate(js, "jobsets")
    assert (js["apiVersion"], js["kind"]) == ("jobset.x-k8s.io/v1alpha2", "JobSet")
    spec = js["spec"]
    assert spec["network"]["enableDNSHostnames"] is True
    assert spec["failurePolicy"] == {"maxRestarts": 3}
    [rjob] = spec["replicatedJobs"]
    assert rjob["replicas"] == 1
    job = rjob["template"]["spec"]
    assert (job["completions"], job["parallelism"], job["completionMode"]) == (2, 2, "Indexed")
    pod = job["template"]["spec"]
    assert "subdomain" not in pod  # the JobSet controller sets it
    env = env_of(pod["containers"][0])
    assert env["MASTER_ADDR"] == "llama-ft-node-0-0.llama-ft"
    assert env["NNODES"] == "2" and env["NPROC_PER_NODE"] == "8" and env["LR"] == "3e-4"
    rank = env["NODE_RANK"]["fieldRef"]["fieldPath"]
    assert rank == "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "8"
    for labels in (js["metadata"]["labels"], job["template"]["metadata"]["labels"]):
        assert labels[LABEL_MANAGED_BY] == MANAGED_BY and labels[LABEL_OWNER] == "URES0001"
    # child Jobs copy the Job template's labels: without ours there, they are not mistaken for bot Jobs
    assert "metadata" not in rjob["template"]


def test_trainjob_refers_to_the_policy_runtime_with_per_node_resources() -> None:
    policy = policy_with(trainer=POLICY.trainer.model_copy(update={"runtime": "torch-distributed"}))
    [tj] = render_workload(dataclasses.replace(record(), kind="trainjob"), policy)
    validate(tj, "trainjobs")
    spec = tj["spec"]
    assert spec["runtimeRef"] == {"name": "torch-distributed", "apiGroup": "trainer.kubeflow.org",
                                  "kind": "ClusterTrainingRuntime"}
    t = spec["trainer"]
    assert (t["numNodes"], t["numProcPerNode"], t["image"]) == (2, 8, "ghcr.io/acme/train:1.4")
    assert t["command"] == ["torchrun", "train.py"]
    assert t["resourcesPerNode"]["limits"]["nvidia.com/gpu"] == "8"
    env = env_of(t)
    assert env["LR"] == "3e-4" and not set(env) & trainjob.RESERVED_ENV and "MASTER_ADDR" not in env
    assert spec["activeDeadlineSeconds"] == 3600
    [patch] = spec["runtimePatches"]
    [rj] = patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    pod = rj["template"]["spec"]["template"]
    assert pod["metadata"]["labels"][LABEL_OWNER] == "URES0001"
    assert pod["spec"]["nodeSelector"] == {"nvidia.com/gpu.product": POLICY.gpu_types["h100"]}
    assert tj["metadata"]["labels"][LABEL_MANAGED_BY] == MANAGED_BY


def test_the_schema_check_catches_a_misspelt_field() -> None:
    [js] = render_workload(dataclasses.replace(record(), kind="jobset"), POLICY)
    js["spec"]["network"]["enableDnsHostnames"] = True
    with pytest.raises(AssertionError, match="enableDnsHostnames"):
        validate(js, "jobsets")
    [tj] = render_workload(dataclasses.replace(record(), kind="trainjob"), POLICY)
    tj["spec"]["trainer"]["numProcPerNode"] = "eight"  # (CEL rules such as >= 1 are not evaluated)
    with pytest.raises(jsonschema.ValidationError):
        validate(tj, "trainjobs")


def test_a_plain_job_still_renders_a_job_and_its_service() -> None:
    kinds = [o["kind"] for o in render_workload(record(), POLICY)]
    assert kinds == ["Job", "Service"]


def test_job_kind_from_policy_and_template() -> None:
    data: dict[str, Any] = POLICY.model_dump()
    data["job_kind"] = "jobset"
    data["templates"]["llm"] = {**data["templates"].get("llm", {}), "job_kind": "trainjob"}
    policy = parse_policy(data)
    assert policy.kind_for(None) == "jobset"
    assert policy.kind_for("llm") == "trainjob"
    assert POLICY.kind_for(None) == "job"
    data["job_kind"] = "mpijob"
    with pytest.raises(ConfigError, match="job_kind"):
        parse_policy(data)


def test_master_addr_matches_jobset_pod_hostname() -> None:
    assert jobset.pod_hostname("a", "node", 0, 1, "a") == "a-node-0-1.a"


def test_check_config_explains_the_job_kinds(tmp_path: Path) -> None:
    import subprocess
    import sys

    import yaml

    data = yaml.safe_load((Path(__file__).parents[1] / "chatops.example.yaml").read_text())
    data["job_kind"], data["jobset"] = "jobset", {"max_restarts": 2}
    template = next(iter(data["templates"]))
    data["templates"][template]["job_kind"] = "trainjob"
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    chatops = Path(sys.executable).parent / "chatops"
    out = subprocess.run([str(chatops), "check-config", str(path)], capture_output=True, text=True, check=True).stdout
    assert "one JobSet (jobset.x-k8s.io/v1alpha2; restarted as a whole up to 2 time(s))" in out
    assert f"template {template}: one TrainJob" in out and "'torch-distributed'" in out
    assert "deploy/components/workload-kinds" in out
