"""The action every request becomes (``shared/contract/ACTIONS.md``).

Actions are plain frozen dataclasses: the pure core builds them, the services act on them.
``to_dict`` gives the contract's JSON shape (``chatops parse TEXT --json``).
Who asks, their team and the namespace are never part of an action.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

Priority = Literal["low", "normal", "high"]
Scope = Literal["mine", "team", "all"]
JobState = Literal["queued", "running", "succeeded", "failed", "stopped"]

PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high")
SCOPES: tuple[Scope, ...] = ("mine", "team", "all")
JOB_STATES: tuple[JobState, ...] = ("queued", "running", "succeeded", "failed", "stopped")
AfterCondition = Literal["ok", "any", "notok"]
AFTER_CONDITIONS: tuple[AfterCondition, ...] = ("ok", "any", "notok")
ReportBy = Literal["user", "team", "gpu_type"]
REPORT_BY: tuple[ReportBy, ...] = ("user", "team", "gpu_type")

# The GPU models the contract normalises to (lower-case bare model names).
KNOWN_GPU_MODELS: tuple[str, ...] = ("a100", "h100", "h200", "b200", "l40s", "a10g", "l4", "t4", "v100")


@dataclass(frozen=True)
class After:
    """One dependency of a launch: ``job`` must end ``ok`` (succeeded), ``notok`` (not), or ``any``."""

    job: str
    condition: AfterCondition = "ok"


@dataclass(frozen=True)
class Launch:
    name: str | None = None
    template: str | None = None
    image: str | None = None
    gpus: int = 1
    gpu_type: str | None = None
    nodes: int = 1
    time_limit_s: int | None = None
    priority: Priority = "normal"
    command: tuple[str, ...] | None = None
    env: tuple[tuple[str, str], ...] = ()
    # per node (pod), beyond the policy's per-GPU defaults: a Kubernetes memory quantity, whole cores
    memory: str | None = None
    cpus: int | None = None
    # Slurm's --dependency: start only once each of these jobs has ended as its condition asks
    after: tuple[After, ...] = ()
    # a cluster of the policy's ``clusters:`` (None: wherever its GPU type has room)
    cluster: str | None = None
    # Which fields the user gave explicitly: a template fills only the others.
    given: frozenset[str] = field(default_factory=frozenset)

    action = "launch"


@dataclass(frozen=True)
class Status:
    job: str | None = None
    action = "status"


@dataclass(frozen=True)
class ListJobs:
    scope: Scope = "mine"
    state: JobState | None = None
    action = "list"


@dataclass(frozen=True)
class Logs:
    job: str | None = None
    tail: int = 50
    action = "logs"


@dataclass(frozen=True)
class Stop:
    jobs: tuple[str, ...] = ()
    scope: Scope | None = None
    state: JobState | None = None
    action = "stop"


@dataclass(frozen=True)
class Queue:
    action = "queue"


@dataclass(frozen=True)
class Gpus:
    action = "gpus"


@dataclass(frozen=True)
class Help:
    topic: str | None = None  # a subcommand name for `/gpu help SUBCOMMAND`
    action = "help"


@dataclass(frozen=True)
class Clarify:
    question: str
    action = "clarify"


@dataclass(frozen=True)
class Usage:
    """`/gpu usage [6h|24h|7d]`: a chart of cluster GPU utilization and allocation by type."""

    window_s: int = 6 * 3600
    action = "usage"


@dataclass(frozen=True)
class Audit:
    """`/gpu audit [--days N] [--user U]`: the audit trail (admins only)."""

    days: int = 7
    user: str | None = None
    action = "audit"


@dataclass(frozen=True)
class Extend:
    """`/gpu extend JOB 4h`: add ``by_s`` seconds to a job's time limit."""

    job: str
    by_s: int
    action = "extend"


@dataclass(frozen=True)
class Hold:
    jobs: tuple[str, ...] = ()
    action = "hold"


@dataclass(frozen=True)
class Release:
    jobs: tuple[str, ...] = ()
    action = "release"


@dataclass(frozen=True)
class Requeue:
    jobs: tuple[str, ...] = ()
    action = "requeue"


@dataclass(frozen=True)
class History:
    """`/gpu history`: finished jobs, like sacct."""

    scope: Scope = "mine"
    state: JobState | None = None
    days: int = 7
    action = "history"


@dataclass(frozen=True)
class Report:
    """`/gpu report`: GPU-hours (and cost) over a window, grouped."""

    by: ReportBy = "team"
    since_s: int = 30 * 86400
    action = "report"


Action: TypeAlias = (
    Launch | Status | ListJobs | Logs | Stop | Queue | Gpus | Help | Clarify | Usage | Audit
    | Extend | Hold | Release | Requeue | History | Report
)

MUTATING: tuple[type, ...] = (Launch, Stop, Extend, Hold, Release, Requeue)


def to_dict(action: Action) -> dict[str, Any]:
    """The contract's JSON object for ``action``: ``{"action": ..., <fields>}``."""
    out: dict[str, Any] = {"action": action.action}
    for f in dataclasses.fields(action):
        value = getattr(action, f.name)
        if f.name == "given":
            out["given"] = sorted(value)
        elif f.name == "env":
            out["env"] = dict(value)
        elif f.name == "after":
            out["after"] = [{"job": a.job, "condition": a.condition} for a in value]
        elif isinstance(value, tuple):
            out[f.name] = list(value)
        else:
            out[f.name] = value
    return out


def launch_env(action: Launch) -> dict[str, str]:
    return dict(action.env)
