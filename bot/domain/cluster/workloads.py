"""What a launch creates, by the record's kind: the one place that knows the three shapes."""

from __future__ import annotations

from typing import Any

from bot.domain.cluster import jobset, trainjob
from bot.domain.cluster.manifests import record_manifests
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import Policy


def render_workload(record: JobRecord, policy: Policy) -> list[dict[str, Any]]:
    """The objects to create for ``record``, in creation order (the workload first)."""
    if record.kind == "jobset":
        return [jobset.render_jobset(record, policy)]
    if record.kind == "trainjob":
        return [trainjob.render_trainjob(record, policy)]
    return record_manifests(record, policy)


def workload_plurals(policy: Policy) -> list[str]:
    """The custom kinds (URL plurals) launches under ``policy`` may create, to be watched."""
    kinds = {policy.job_kind, *(t.job_kind for t in policy.templates.values() if t.job_kind)}
    return [p for kind, p in (("jobset", jobset.PLURAL), ("trainjob", trainjob.PLURAL)) if kind in kinds]
