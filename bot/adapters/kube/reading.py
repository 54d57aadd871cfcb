"""Reading the Kubernetes objects the bot lists: quantities and a Job's phase (no API calls here)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bot.domain.cluster.objects import Job
from bot.domain.cluster.snapshot import JobPhase
from bot.domain.resources import quantity_value

IDEMPOTENCY_ANNOTATION = "chatops.io/idempotency-key"


def quantity(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def amount(value: Any) -> Decimal:
    """A node's allocatable cpu or memory in cores or bytes; 0 when absent or unreadable."""
    try:
        return quantity_value(str(value)) if value is not None else Decimal(0)
    except ValueError:
        return Decimal(0)


def phase_of(job: Job) -> JobPhase:
    meta, status = job["metadata"], job.get("status", {})
    finished, reason = None, None
    for cond in status.get("conditions", []) or []:
        if cond.get("status") != "True":
            continue
        if cond.get("type") == "Complete":
            finished, reason = "succeeded", None
        elif cond.get("type") == "Failed":
            finished, reason = "failed", cond.get("reason") or cond.get("message")
    suspended = bool(job.get("spec", {}).get("suspend"))
    idem = (meta.get("annotations") or {}).get(IDEMPOTENCY_ANNOTATION)
    return JobPhase(meta["namespace"], meta["name"], finished, reason, suspended,
                    bool(meta.get("deletionTimestamp")), idem)
