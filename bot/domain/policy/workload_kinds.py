"""Policy keys of ``job_kind: jobset`` and ``job_kind: trainjob`` (issue 15): how those objects are made."""

from __future__ import annotations

from pydantic import Field

from bot.domain.policy.org import StrictModel


class JobSetOptions(StrictModel):
    """How a ``job_kind: jobset`` job is made (JobSet's ``failurePolicy``)."""

    max_restarts: int = Field(default=0, ge=0)  # whole-set restarts before the JobSet fails


class TrainerOptions(StrictModel):
    """How a ``job_kind: trainjob`` job is made: the ClusterTrainingRuntime its ``runtimeRef`` names."""

    runtime: str = "torch-distributed"
