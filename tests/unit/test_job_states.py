"""The pure job state machine: Job conditions, pod phases, container states and events → a phase."""

from __future__ import annotations

from typing import Any

from bot.domain.cluster.job_states import FROM_STATES, observe
from bot.domain.cluster.objects import Obj


def job(*conds: tuple[str, str], suspend: bool = False) -> Obj:
    return {"metadata": {"name": "j"}, "spec": {"suspend": suspend, "parallelism": 1},
            "status": {"conditions": [{"type": t, "status": "True", "reason": r, "message": r} for t, r in conds]}}


def pod(name: str = "j-abc", phase: str = "Pending", node: str | None = None, **status: Any) -> Obj:
    spec: Obj = {"containers": [{"name": "train", "image": "img:1"}]}
    if node:
        spec["nodeName"] = node
    return {"metadata": {"name": name}, "spec": spec, "status": {"phase": phase, **status}}


def terminated(code: int, reason: str) -> list[Obj]:
    return [{"name": "train", "state": {"terminated": {"exitCode": code, "reason": reason}}}]


def test_no_job_is_gone_and_suspended_is_admitted() -> None:
    assert observe(None, []).phase == "gone"
    assert observe(job(("Suspended", "JobSuspended"), suspend=True), []).phase == "admitted"


def test_pending_without_pods_and_with_unscheduled_pod_reason() -> None:
    assert observe(job(), []).phase == "pending"
    unsched = pod(conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                               "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}])
    obs = observe(job(), [unsched])
    assert obs.phase == "pending" and obs.failure is not None and obs.failure.kind == "unschedulable"
    assert "Insufficient nvidia.com/gpu" in (obs.waiting or "")


def test_failed_scheduling_event_gives_the_reason() -> None:
    events = {"j-abc": [{"reason": "FailedScheduling", "message": "0/2 nodes: Insufficient nvidia.com/gpu"}]}
    obs = observe(job(), [pod()], events)
    assert obs.waiting == "0/2 nodes: Insufficient nvidia.com/gpu"


def test_bound_but_creating_is_pending_and_all_running_is_running() -> None:
    assert observe(job(), [pod(node="n1")]).phase == "pending"
    obs = observe(job(), [pod("a", "Running", "n1"), pod("b", "Running", "n2")])
    assert obs.phase == "running" and obs.node_names == ["n1", "n2"]
    assert observe(job(), [pod("a", "Running", "n1"), pod("b", "Pending", None)]).phase == "pending"


def test_final_states_from_job_conditions() -> None:
    assert observe(job(("Complete", "CompletionsReached")), [pod(phase="Succeeded", node="n")]).phase == "succeeded"
    timed = observe(job(("Failed", "DeadlineExceeded")), [])
    assert timed.phase == "timedout" and timed.failure is not None and timed.failure.kind == "deadline"


def test_failure_kinds_from_pods() -> None:
    oom = observe(job(("Failed", "BackoffLimitExceeded")),
                  [pod(phase="Failed", node="n", containerStatuses=terminated(137, "OOMKilled"))])
    assert oom.failure is not None and oom.failure.kind == "oomkilled" and oom.failure.exit_code == 137
    code = observe(job(("Failed", "BackoffLimitExceeded")),
                   [pod(phase="Failed", node="n", containerStatuses=terminated(3, "Error"))])
    assert code.failure is not None and (code.failure.kind, code.failure.exit_code) == ("exit_code", 3)
    lost = observe(job(("Failed", "BackoffLimitExceeded")),
                   [pod(phase="Failed", node="n", reason="NodeLost", message="Node n is unresponsive",
                        containerStatuses=terminated(137, "ContainerStatusUnknown"))])
    assert lost.failure is not None and lost.failure.kind == "node_lost"


def test_image_pull_backoff_fails_and_asks_for_delete() -> None:
    waiting = [{"name": "train", "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off"}}}]
    obs = observe(job(), [pod(node="n", containerStatuses=waiting)])
    assert obs.phase == "failed" and obs.needs_delete
    assert obs.failure is not None and obs.failure.kind == "image_pull" and obs.failure.image == "img:1"


def test_preempted_pod() -> None:
    p = pod(phase="Failed", node="n", conditions=[{"type": "DisruptionTarget", "status": "True",
                                                    "reason": "PreemptionByScheduler"}])
    assert observe(job(), [p]).phase == "preempted"


def test_transitions_never_go_backwards() -> None:
    assert "running" not in FROM_STATES["pending"]
    for final in ("succeeded", "failed", "timedout"):
        assert not set(FROM_STATES[final]) & {"succeeded", "failed", "timedout", "stopped", "queued"}
