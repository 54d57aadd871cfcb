"""The job state machine: what the cluster says of one bot job → the record state it should be in.

Pure: it reads the raw JSON of the Job, its pods and their Warning events (as the watcher caches
them) and returns one ``Observation``. The watcher turns it into compare-and-set transitions;
``FROM_STATES`` says which record states each target may be entered from, so a replayed or late
observation never moves a job backwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.domain.cluster.objects import Obj

# "preempted" and "gone" are observations without a record state of their own: the scheduler puts a
# preempted job back in the queue, and the stop service (or the dispatcher) accounts for a deletion.
Phase = Literal[
    "admitted", "pending", "running", "succeeded", "failed", "timedout", "preempted", "gone"
]
FailureKind = Literal[
    "oomkilled", "image_pull", "unschedulable", "deadline", "exit_code", "node_lost", "evicted", "unknown"
]

# target record state → the record states it may come from (the compare in compare-and-set)
FROM_STATES: dict[str, tuple[str, ...]] = {
    "pending": ("admitted",),
    "running": ("admitted", "pending"),
    "succeeded": ("admitted", "pending", "running"),
    "failed": ("admitted", "pending", "running"),
    "timedout": ("admitted", "pending", "running"),
}
IMAGE_PULL_REASONS = frozenset({"ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull"})
PREEMPTION_REASONS = frozenset({"Preempted", "PreemptionByScheduler", "PreemptionByKubeScheduler"})


@dataclass(frozen=True)
class Failure:
    """Why a job failed or cannot go on, as facts; ``diagnosis.explain`` words them."""

    kind: FailureKind
    exit_code: int | None = None
    message: str = ""
    image: str | None = None
    pod: str | None = None  # the pod whose log tells the story


@dataclass(frozen=True)
class Observation:
    phase: Phase
    node_names: list[str] = field(default_factory=list)
    waiting: str | None = None  # the scheduler's words while pods are not placed (FailedScheduling)
    failure: Failure | None = None
    # True when the Job will never finish by itself (an image that cannot be pulled): the bot ends it
    needs_delete: bool = False


def _conditions(obj: Obj) -> list[Obj]:
    return list((obj.get("status") or {}).get("conditions") or [])


def _true(obj: Obj, kind: str) -> Obj | None:
    return next((c for c in _conditions(obj) if c.get("type") == kind and c.get("status") == "True"), None)


def _terminated(pod: Obj) -> Obj | None:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        term = (cs.get("state") or {}).get("terminated")
        if term and term.get("exitCode", 0) != 0:
            return dict(term)
    return None


def _waiting_reason(pod: Obj) -> tuple[str, str] | None:
    for cs in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in IMAGE_PULL_REASONS:
            return str(waiting["reason"]), str(waiting.get("message") or "")
    return None


def _image(pod: Obj) -> str | None:
    containers = (pod.get("spec") or {}).get("containers") or []
    return str(containers[0].get("image")) if containers else None


def _scheduling_message(pod: Obj, events: Sequence[Obj]) -> str | None:
    cond = next((c for c in _conditions(pod) if c.get("type") == "PodScheduled"), None)
    if cond is not None and cond.get("status") == "False" and cond.get("reason") == "Unschedulable":
        return str(cond.get("message") or "Unschedulable")
    failed = [e for e in events if e.get("reason") == "FailedScheduling"]
    return str(failed[-1].get("message") or "") if failed else None


def pod_failure(pod: Obj, events: Sequence[Obj] = ()) -> Failure | None:
    """The failure one pod shows, if any: node lost, preempted/evicted, OOM, exit code, image pull."""
    status = pod.get("status") or {}
    name = str((pod.get("metadata") or {}).get("name", ""))
    reason = str(status.get("reason") or "")
    term = _terminated(pod)
    if reason == "NodeLost" or any(e.get("reason") == "NodeLost" for e in events):
        return Failure("node_lost", term.get("exitCode") if term else None, str(status.get("message") or ""),
                       pod=name)
    if reason == "Evicted":
        return Failure("evicted", None, str(status.get("message") or ""), pod=name)
    if term is not None:
        kind: FailureKind = "oomkilled" if term.get("reason") == "OOMKilled" else "exit_code"
        return Failure(kind, int(term.get("exitCode", 1)), str(term.get("message") or ""), pod=name)
    pull = _waiting_reason(pod)
    if pull is not None:
        return Failure("image_pull", None, pull[1] or pull[0], image=_image(pod), pod=name)
    return None


def _preempted(pod: Obj) -> bool:
    status = pod.get("status") or {}
    if status.get("reason") in PREEMPTION_REASONS:
        return True
    target = _true(pod, "DisruptionTarget")
    return target is not None and target.get("reason") in PREEMPTION_REASONS


def observe(job: Obj | None, pods: Sequence[Obj], events: Mapping[str, Sequence[Obj]] | None = None) -> Observation:
    """The phase of a bot job from its Job, its pods and the Warning events keyed by object name."""
    events = events or {}
    pods = sorted(pods, key=lambda p: str((p.get("metadata") or {}).get("name", "")))
    nodes = sorted({str(n) for p in pods if (n := (p.get("spec") or {}).get("nodeName"))})
    failures = [f for p in pods if (f := pod_failure(p, events.get(_name(p), ()))) is not None]
    if job is None:
        return Observation("gone", nodes)
    job_events = events.get(_name(job), ())
    if _true(job, "Complete") is not None:
        return Observation("succeeded", nodes)
    failed = _true(job, "Failed")
    if failed is not None:
        reason = str(failed.get("reason") or "")
        if reason == "DeadlineExceeded":
            return Observation("timedout", nodes, failure=Failure("deadline", message=str(failed.get("message") or "")))
        if failures:
            return Observation("failed", nodes, failure=failures[0])
        message = str(failed.get("message") or reason)
        lost = any(e.get("reason") == "NodeLost" for e in job_events)
        return Observation("failed", nodes, failure=Failure("node_lost" if lost else "unknown", message=message))
    if any(_preempted(p) for p in pods):
        return Observation("preempted", nodes)
    if _true(job, "Suspended") is not None or (job.get("spec") or {}).get("suspend"):
        return Observation("admitted", nodes)
    pulls = [f for f in failures if f.kind == "image_pull"]
    if pulls:
        return Observation("failed", nodes, failure=pulls[0], needs_delete=True)
    live = [p for p in pods if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    running = [p for p in live if (p.get("status") or {}).get("phase") == "Running"]
    if running and len(running) == len(live):  # every rank up: a gang job runs only as a whole
        return Observation("running", nodes)
    unplaced = [p for p in live if not (p.get("spec") or {}).get("nodeName")]
    for p in unplaced:
        why = _scheduling_message(p, events.get(_name(p), ()))
        if why:
            return Observation("pending", nodes, waiting=why, failure=Failure("unschedulable", message=why))
    return Observation("pending", nodes)


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))
