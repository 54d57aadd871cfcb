"""One job's reaction to what the cluster shows: the transition, the card, the thread reply.

``react`` is called by the watcher's reactors with the informer's picture of the job. It moves the
record with a compare-and-set from the states the target may come from (``job_states.FROM_STATES``),
so a late or replayed observation never moves a job backwards; when another writer (the dispatcher's
safety net) got there first it only adds what that writer could not know: nodes and the diagnosis.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.domain.cluster.diagnosis import explain
from bot.domain.cluster.job_states import FROM_STATES, Failure, Observation, pod_failure
from bot.domain.cluster.objects import Obj
from bot.domain.errors import BackendError
from bot.domain.jobs import RUNNING_STATES, JobRecord
from bot.services.cards import publish_card
from bot.services.needs import ReactionPorts
from bot.services.notices import Notices

log = logging.getLogger(__name__)

LOG_TAIL_LINES = 20
RETRY_S = 1.0
PATIENCE_S = 0.2
GONE_RECHECK_S = 3.0  # a deleted Job: the stop service records the stop right after deleting it
SHORT_REASON = {
    "oomkilled": "OOMKilled", "image_pull": "image pull failed", "unschedulable": "unschedulable",
    "deadline": "DeadlineExceeded", "node_lost": "node lost", "evicted": "evicted", "unknown": "failed",
}
TARGETS = ("pending", "running", "succeeded", "failed", "timedout")
ANNOUNCE = {"running": "started", "succeeded": "succeeded", "failed": "failed", "timedout": "timedout"}


@dataclass
class Reaction:
    observed: str
    transitioned: str | None = None  # the record state this reaction moved the job to
    changed: JobRecord | None = None  # the record after a change shown on the card
    finished: bool = False
    retry_in: float | None = None


def _short(f: Failure) -> str:
    return f"exit code {f.exit_code}" if f.kind == "exit_code" else SHORT_REASON[f.kind]


def log_tail(rt: ReactionPorts, r: JobRecord, pods: list[Obj]) -> str:
    """The last lines of the failed pods (every pod when none shows a failure), labelled by pod."""
    chosen = [p for p in pods if pod_failure(p) is not None] or pods
    parts = []
    for pod in chosen[:4]:
        name = pod["metadata"]["name"]
        try:
            text = rt.cluster.pod_log(r.namespace, name, LOG_TAIL_LINES)
        except BackendError:
            continue
        parts.append(f"--- {name}\n{text.rstrip()}" if len(chosen) > 1 else text.rstrip())
    return "\n".join(parts)


def _fields(rt: ReactionPorts, r: JobRecord, obs: Observation, target: str,
            pods: list[Obj]) -> tuple[dict[str, Any], str]:
    now = rt.clock()
    fields: dict[str, Any] = {}
    if obs.node_names:
        fields["node_names"] = obs.node_names  # kept when pods are gone (deleted after a deadline)
    tail = ""
    if target in ("failed", "timedout"):
        failure = obs.failure or Failure("unknown")
        tail = log_tail(rt, r, pods)
        fields["diagnosis"] = explain(failure, r, tail, rt.policy.limits.max_time_limit,
                                      rt.policy.job_defaults.memory_per_gpu)
        fields["reason"] = _short(failure)
        fields["finished_at"] = r.finished_at or now
    elif target == "succeeded":
        fields.update(finished_at=r.finished_at or now, diagnosis=None)
    elif target == "running":
        fields.update(started_at=r.started_at or now, diagnosis=None)
    elif target == "pending" and obs.failure is not None:
        fields["diagnosis"] = explain(obs.failure, r)
    return fields, tail


def react(rt: ReactionPorts, notices: Notices, record: JobRecord, obs: Observation, pods: list[Obj],
          origin: float | None, patient: bool = True) -> Reaction:
    out = Reaction(obs.phase)
    if obs.phase == "gone":
        if record.state in RUNNING_STATES:
            out.retry_in = GONE_RECHECK_S  # stopped by the bot (recorded next) or deleted by hand (dispatcher)
        elif record.state == "stopped" and not notices.announce(record, "stopped"):
            out.retry_in = RETRY_S
        return out
    if obs.phase not in TARGETS or record.state == "stopped":
        return out  # admitted (suspended), preempted (the scheduler requeues), or stopped already
    target = obs.phase
    if record.state == "running" and target == "pending":
        return out  # never backwards
    unexplained = target == "failed" and (obs.failure is None or obs.failure.kind == "unknown")
    if unexplained and patient and any(p.get("status", {}).get("phase") in ("Pending", "Running") for p in pods):
        # The Job's Failed condition came in before its pod's terminated state (separate watches):
        # wait a moment for the pod, which says why.
        out.retry_in = PATIENCE_S
        return out
    if record.state == target and record.diagnosis and unexplained:
        return out  # never replace a diagnosis with a vaguer one
    fields, tail = _fields(rt, record, obs, target, pods)
    new = record
    if record.state != target:
        allowed = FROM_STATES[target]
        if target == "timedout" and record.state == "failed" and record.diagnosis is None:
            allowed = ("failed",)  # the dispatcher's safety net knows only "failed" for a deadline
        moved = rt.store.transition(record.namespace, record.name, allowed, target, **fields)
        if moved is not None:
            new, out.transitioned = moved, target
        else:
            fresh = rt.store.get(record.namespace, record.name)
            if fresh is None:
                return out
            new = fresh
    if new.state == target and out.transitioned is None:
        diff = {k: v for k, v in fields.items()
                if getattr(new, k) != v and not (k in ("started_at", "finished_at") and getattr(new, k))}
        if diff:
            new = rt.store.update(new.namespace, new.name, **diff) or new
            out.changed = new
    if out.transitioned is not None:
        out.changed = new
    if out.changed is not None and new.card_ts:
        publish_card(rt, new, origin)  # without a ts the card is being posted; the poster shows the newest
    if new.state != target:
        return out
    out.finished = target in ("succeeded", "failed", "timedout")
    if obs.needs_delete and target == "failed":
        rt.cluster.delete_job(new.namespace, new.name, kind=new.kind)  # it would hold its GPUs forever otherwise
    event = ANNOUNCE.get(target) or ("waiting" if obs.failure is not None else None)
    if event is not None and not notices.announce(new, event, tail):
        out.retry_in = RETRY_S  # the card has no ts yet
    return out
