"""What the cluster looks like to the scheduler: its facts and the bot-managed Jobs' phases."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.scheduling.model import ClusterFacts


@dataclass(frozen=True)
class JobPhase:
    """What the cluster says of a bot-managed Job, as far as the dispatcher needs it."""

    namespace: str
    name: str
    finished: str | None  # "succeeded" | "failed" | None while active
    reason: str | None
    suspended: bool
    deleting: bool = False  # deletionTimestamp set: its pods are in their termination grace period
    idempotency_key: str | None = None  # of the submission it was made for (a reused name's Job differs)
    cluster: str = ""  # which of several clusters it is in ("" = the one cluster)


@dataclass
class Snapshot:
    facts: ClusterFacts
    bound_pods: dict[str, int] = field(default_factory=dict)  # "ns/job" → pods bound to a node
    # "ns/job" → node → GPUs its live pods hold there (where a job's GPUs come back when it ends)
    pods: dict[str, dict[str, int]] = field(default_factory=dict)
    # several clusters: each one's name, and those that did not answer (name → since when, epoch s);
    # node names are then "cluster/node"
    clusters: tuple[str, ...] = ()
    unreachable: dict[str, float] = field(default_factory=dict)
