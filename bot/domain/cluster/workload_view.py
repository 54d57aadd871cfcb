"""A JobSet or TrainJob read as the Job the job state machine knows (``job_states.observe``), and the
progress a TrainJob's trainer reports.

JobSet says ``Completed``/``Failed``/``Suspended`` (``jobset_types.go``); Trainer copies the JobSet's into
``Complete``/``Failed`` and adds its own ``DeadlineExceeded`` failure (``trainjob_types.go``). A batch/v1
Job says ``Complete``/``Failed`` (reason ``DeadlineExceeded`` for ``activeDeadlineSeconds``)/``Suspended``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.cluster.objects import Obj

# the condition types of each kind, by the Job condition they mean
_AS_JOB = {"JobSet": {"Completed": "Complete", "Failed": "Failed", "Suspended": "Suspended"},
           "TrainJob": {"Complete": "Complete", "Failed": "Failed", "Suspended": "Suspended"}}
KIND_OF_PLURAL = {"jobs": "Job", "jobsets": "JobSet", "trainjobs": "TrainJob"}


@dataclass(frozen=True)
class Progress:
    """``status.trainerStatus``: what the training process reported, when it reports."""

    percent: int
    remaining_s: int | None = None


def as_job(obj: Obj, kind: str) -> Obj:
    """``obj`` (a JobSet or TrainJob; a Job as it is) with Job condition types and ``spec.suspend``."""
    names = _AS_JOB.get(kind)
    if names is None:
        return obj
    status = obj.get("status") or {}
    conditions = [{**c, "type": names[c["type"]]} for c in status.get("conditions") or [] if c.get("type") in names]
    return {"kind": "Job", "metadata": obj.get("metadata") or {},
            "spec": {"suspend": bool((obj.get("spec") or {}).get("suspend"))},
            "status": {"conditions": conditions, "trainerStatus": status.get("trainerStatus")}}


def progress(obj: Obj | None) -> Progress | None:
    trainer = ((obj or {}).get("status") or {}).get("trainerStatus") or {}
    percent = trainer.get("progressPercentage")
    if not isinstance(percent, int):
        return None
    remaining = trainer.get("estimatedRemainingSeconds")
    return Progress(max(0, min(100, percent)), remaining if isinstance(remaining, int) else None)
