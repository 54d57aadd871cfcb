"""The simulated controllers (job, scheduler, kubelet) observed through the kubernetes client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster, parse_gpu_type_arg
from tests.integration.test_sim_api import H100, job_body, wait_for

NS = "ml"


class Sim:
    def __init__(self, srv: SimServer) -> None:
        self.srv = srv
        api = srv.api_client()
        self.batch = client.BatchV1Api(api)
        self.core = client.CoreV1Api(api)

    def pods(self, job: str) -> list[Any]:
        return list(self.core.list_namespaced_pod(NS, label_selector=f"job-name={job}").items)

    def condition(self, job: str, kind: str) -> Any:
        conds = self.batch.read_namespaced_job(job, NS).status.conditions or []
        return next((c for c in conds if c.type == kind and c.status == "True"), None)

    def events(self, name: str) -> list[Any]:
        sel = f"involvedObject.name={name}"
        return list(self.core.list_namespaced_event(NS, field_selector=sel).items)


@pytest.fixture()
def sim() -> Iterator[Sim]:
    nodes = [NodeSpec(f"h{i}", 8, H100) for i in range(3)] + [NodeSpec("l0", 4, "NVIDIA-L40S")]
    with SimServer(SimCluster(nodes, speed=600, namespaces=[NS])) as srv:
        yield Sim(srv)


def test_gang_binds_all_pods_or_none(sim: Sim) -> None:
    sim.batch.create_namespaced_job(NS, job_body("big", gpus=8, pods=2, env={"SIM_DURATION": "1h"}))
    wait_for(lambda: all(p.status.phase == "Running" for p in sim.pods("big")) and len(sim.pods("big")) == 2)
    assert len({p.spec.node_name for p in sim.pods("big")}) == 2
    # Two 8-GPU pods don't fit on the one free H100 node: neither may bind.
    sim.batch.create_namespaced_job(NS, job_body("wait", gpus=8, pods=2))
    wait_for(
        lambda: any(
            e.reason == "FailedScheduling" for p in sim.pods("wait") for e in sim.events(p.metadata.name)
        )
    )
    pods = sim.pods("wait")
    assert all(p.spec.node_name is None and p.status.phase == "Pending" for p in pods)
    cond = pods[0].status.conditions[0]
    assert (cond.type, cond.status, cond.reason) == ("PodScheduled", "False", "Unschedulable")
    ev = next(e for e in sim.events(pods[0].metadata.name) if e.reason == "FailedScheduling")
    assert ev.type == "Warning" and ev.message.startswith("0/4 nodes are available: ")
    assert (
        "Insufficient nvidia.com/gpu" in ev.message
        and "didn't match Pod's node affinity/selector" in ev.message
    )
    # A job that fits still starts past the blocked gang (no head-of-line blocking).
    sim.batch.create_namespaced_job(NS, job_body("small", gpus=4, pods=1))
    wait_for(lambda: sim.pods("small") and sim.pods("small")[0].spec.node_name == "h2")
    # Freeing capacity lets the waiting gang in, all at once.
    sim.batch.delete_namespaced_job("big", NS, propagation_policy="Foreground")
    wait_for(lambda: all(p.spec.node_name for p in sim.pods("wait")), what="gang bound")


def test_job_completes_with_status_and_logs(sim: Sim) -> None:
    sim.batch.create_namespaced_job(NS, job_body("ok", gpus=8, pods=2, env={"SIM_DURATION": "60"}))
    wait_for(lambda: sim.condition("ok", "Complete"), what="Complete")
    job = sim.batch.read_namespaced_job("ok", NS)
    assert job.status.succeeded == 2 and job.status.active == 0 and job.status.completion_time
    assert sim.condition("ok", "SuccessCriteriaMet")
    pod = sorted(sim.pods("ok"), key=lambda p: p.metadata.name)[1]
    assert pod.metadata.labels["batch.kubernetes.io/job-completion-index"] == "1"
    env = {e.name: e.value for e in pod.spec.containers[0].env}
    assert env["JOB_COMPLETION_INDEX"] == "1"
    term = pod.status.container_statuses[0].state.terminated
    assert (term.exit_code, term.reason) == (0, "Completed")
    log = sim.core.read_namespaced_pod_log(pod.metadata.name, NS, tail_lines=3)
    lines = log.splitlines()
    assert len(lines) == 3 and "step 1000/1000" in lines[0] and "training complete" in lines[1]
    full = sim.core.read_namespaced_pod_log(pod.metadata.name, NS)
    assert "[rank8] step 10/1000 | loss" in full and "samples/s | lr" in full
    reasons = {e.reason for e in sim.events(pod.metadata.name)}
    assert {"Scheduled", "Pulled", "Started"} <= reasons
    assert "Completed" in {e.reason for e in sim.events("ok")}


@pytest.mark.parametrize(
    ("fail", "code", "reason", "log_text"),
    [
        ("OOMKilled", 137, "OOMKilled", None),
        ("exit:3", 3, "Error", "exited with code 3"),
        ("nccl-timeout", 1, "Error", "Watchdog caught collective operation timeout"),
        ("cuda-oom", 1, "Error", "torch.OutOfMemoryError: CUDA out of memory"),
    ],
)
def test_injected_failures(sim: Sim, fail: str, code: int, reason: str, log_text: str | None) -> None:
    sim.batch.create_namespaced_job(
        NS, job_body("f", gpus=8, pods=2, env={"SIM_FAIL": fail, "SIM_DURATION": "30"})
    )
    cond = wait_for(lambda: sim.condition("f", "Failed"), what="Failed")
    assert cond.reason == "BackoffLimitExceeded"
    failed = [p for p in sim.pods("f") if p.status.phase == "Failed"]
    term = failed[0].status.container_statuses[0].state.terminated
    assert (term.exit_code, term.reason) == (code, reason)
    if log_text:
        assert log_text in sim.core.read_namespaced_pod_log(failed[0].metadata.name, NS)
    assert wait_for(
        lambda: sum(1 for p in sim.pods("f") if p.status.phase not in ("Succeeded", "Failed")) == 0
    )


def test_backoff_limit_replaces_failed_pod(sim: Sim) -> None:
    body = job_body("retry", gpus=1, env={"SIM_FAIL": "exit:1", "SIM_DURATION": "10"}, backoffLimit=2)
    sim.batch.create_namespaced_job(NS, body)
    wait_for(lambda: sim.condition("retry", "Failed"), what="Failed")
    assert sim.batch.read_namespaced_job("retry", NS).status.failed == 3
    assert len(sim.pods("retry")) == 3


def test_image_pull_backoff(sim: Sim) -> None:
    body = job_body("pull", gpus=1)
    body["spec"]["template"]["spec"]["containers"][0]["image"] = "ghcr.io/acme/train:fail-imagepull"
    sim.batch.create_namespaced_job(NS, body)

    def waiting() -> Any:
        pods = sim.pods("pull")
        statuses = pods[0].status.container_statuses if pods else None
        return (
            statuses and statuses[0].state.waiting and statuses[0].state.waiting.reason == "ImagePullBackOff"
        )

    wait_for(waiting, what="ImagePullBackOff")
    pod = sim.pods("pull")[0]
    assert pod.status.phase == "Pending"
    events = {e.reason: e.message for e in sim.events(pod.metadata.name)}
    assert "ghcr.io/acme/train:fail-imagepull" in events["BackOff"]
    with pytest.raises(client.ApiException) as exc:
        sim.core.read_namespaced_pod_log(pod.metadata.name, NS)
    assert exc.value.status == 400 and "waiting to start" in exc.value.body


def test_active_deadline(sim: Sim) -> None:
    sim.batch.create_namespaced_job(
        NS, job_body("dl", gpus=1, env={"SIM_DURATION": "2h"}, activeDeadlineSeconds=120)
    )
    cond = wait_for(lambda: sim.condition("dl", "Failed"), what="deadline")
    assert cond.reason == "DeadlineExceeded"
    assert sim.pods("dl") == []
    assert "DeadlineExceeded" in {e.reason for e in sim.events("dl")}


def test_suspend_and_resume(sim: Sim) -> None:
    sim.batch.create_namespaced_job(NS, job_body("s", gpus=8, env={"SIM_DURATION": "2h"}))
    wait_for(lambda: [p for p in sim.pods("s") if p.status.phase == "Running"], what="running")
    sim.batch.patch_namespaced_job("s", NS, {"spec": {"suspend": True}})
    wait_for(lambda: sim.condition("s", "Suspended") and sim.pods("s") == [], what="suspended")
    assert sim.srv.cluster.free_gpus()["h0"] + sim.srv.cluster.free_gpus()["h1"] == 16
    sim.batch.patch_namespaced_job("s", NS, {"spec": {"suspend": False}})
    wait_for(lambda: [p for p in sim.pods("s") if p.status.phase == "Running"], what="resumed")
    assert not sim.condition("s", "Suspended")


def test_node_loss(sim: Sim) -> None:
    sim.batch.create_namespaced_job(NS, job_body("n", gpus=8, pods=2, env={"SIM_DURATION": "2h"}))
    wait_for(lambda: len([p for p in sim.pods("n") if p.status.phase == "Running"]) == 2, what="running")
    victim = sim.pods("n")[0]
    sim.srv.cluster.remove_node(victim.spec.node_name)
    lost = sim.core.read_namespaced_pod(victim.metadata.name, NS)
    assert lost.status.phase == "Failed" and lost.status.reason == "NodeLost"
    assert victim.spec.node_name not in [n.metadata.name for n in sim.core.list_node().items]
    assert wait_for(lambda: sim.condition("n", "Failed")).reason == "BackoffLimitExceeded"


def test_gpu_type_arg() -> None:
    assert parse_gpu_type_arg("4x8:h100") == [(4, 8, H100)]
    assert parse_gpu_type_arg("l40s", nodes=2, gpus_per_node=4) == [(2, 4, "NVIDIA-L40S")]
    with pytest.raises(ValueError):
        parse_gpu_type_arg("4x:h100")
