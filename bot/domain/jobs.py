"""A job as the bot tracks it: the record kept in the queue store and shown on cards."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.domain.actions import Priority

# queued → admitted (the bot creates the Kubernetes Job) → pending (pods not scheduled yet) → running
#        → succeeded | failed | stopped | timedout. A preempted job goes back to queued at its old place.
# What a launch creates: a batch/v1 Job (+ Service), a JobSet, or a Kubeflow TrainJob (issue 15).
JobKind = Literal["job", "jobset", "trainjob"]
RecordState = Literal["queued", "admitted", "pending", "running", "succeeded", "failed", "stopped", "timedout"]
# Holding GPUs (or about to): what quotas and capacity count.
RUNNING_STATES: tuple[str, ...] = ("admitted", "pending", "running")
ACTIVE_STATES: frozenset[str] = frozenset({"queued", *RUNNING_STATES})
FINAL_STATES: frozenset[str] = frozenset({"succeeded", "failed", "stopped", "timedout"})

# The contract's list/stop states (ACTIONS.md) → the record states they cover.
CONTRACT_STATES: dict[str, tuple[str, ...]] = {
    "queued": ("queued",),
    "running": RUNNING_STATES,
    "succeeded": ("succeeded",),
    "failed": ("failed", "timedout"),
    "stopped": ("stopped",),
}


@dataclass
class JobRecord:
    name: str
    namespace: str
    team: str
    owner: str  # Slack user ID
    image: str
    gpus: int  # total across nodes
    gpu_type: str  # short name from the policy's gpu_types
    nodes: int = 1
    time_limit_s: int = 86400
    priority: Priority = "normal"
    command: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    template: str | None = None
    memory: str | None = None  # per pod, when asked for (else the policy's memory_per_gpu × GPUs)
    cpus: int | None = None  # per pod, when asked for (else cpu_per_gpu × GPUs)
    kind: JobKind = "job"  # fixed at launch: a later policy change does not change what stop deletes
    state: RecordState = "queued"
    reason: str | None = None  # why it waits / failed / was stopped, in plain words
    submitted_at: float = 0.0
    admitted_at: float | None = None
    created_at: float | None = None  # when the bot's create of the Kubernetes Job succeeded
    started_at: float | None = None
    finished_at: float | None = None
    idempotency_key: str = ""
    channel: str | None = None  # where the job card lives
    card_ts: str | None = None  # the card's message ts, for chat.update
    stopped_by: str | None = None
    approved_by: str | None = None  # the approver, when the policy's approvals asked for one
    # filled by the scheduler: estimated start (epoch s) while queued; admitted beyond the team quota
    eta: float | None = None
    over_quota: bool = False
    preemptions: int = 0
    # queued, and its start waits only on a preemption (or a stop) in progress: GPUs are being freed
    making_room: bool = False
    # filled by the watcher: where the pods run, and the failure explained in plain words
    node_names: list[str] = field(default_factory=list)
    diagnosis: str | None = None
    # Parked (queued, in its place, but not admitted): held by someone, or waiting on dependencies.
    # ``after``: [{"job", "key" (the record's store key), "condition"}]; ``after_met`` once they allow it.
    held_by: str | None = None
    after: list[dict[str, str]] = field(default_factory=list)
    after_met: bool = False
    # a TrainJob's own report (status.trainerStatus), when its trainer reports progress
    trainer_progress: int | None = None
    trainer_remaining_s: int | None = None
    # Several clusters (policy ``clusters:``): where it runs (set at admission; "" = the one cluster),
    # where it was asked to go (--cluster, a template's cluster), and since when its cluster has not
    # answered while it runs (its card says so instead of failing it).
    cluster: str = ""
    cluster_wanted: str | None = None
    unreachable_since: float | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def parked(self) -> bool:
        """Queued but not to be admitted: held, or its dependencies have not allowed it yet."""
        return self.held_by is not None or (bool(self.after) and not self.after_met)

    @property
    def gpus_per_node(self) -> int:
        return self.gpus // self.nodes

    def to_json(self) -> str:
        """Compact: short field names (``SHORT``), a field at its default left out (``from_json``
        restores it); the fields the store's scripts read are always written."""
        data = {}
        for k in _NAMES:
            v = getattr(self, k)
            if k in _ALWAYS or v != _DEFAULTS.get(k, _NONE):
                data[SHORT.get(k, k)] = v
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> JobRecord:
        """Short or long field names (records written before the compact form was used read alike)."""
        data: dict[str, Any] = json.loads(text)
        out = {}
        for k, v in data.items():
            name = _LONG.get(k, k)
            if name in _KNOWN:
                out[name] = v
        return cls(**out)


# The stored record's field names (Redis: 100,000 queued records, ~100 bytes each saved). The store's
# Lua scripts read ``s``, ``o``, ``t``, ``n`` and ``ik`` (and the long names of older records).
SHORT: dict[str, str] = {
    "name": "n", "namespace": "ns", "team": "t", "owner": "o", "image": "i", "gpus": "g", "gpu_type": "gt",
    "nodes": "nd", "time_limit_s": "tl", "priority": "p", "command": "c", "env": "e", "template": "tp",
    "memory": "m", "cpus": "cp", "kind": "k", "state": "s", "reason": "r", "submitted_at": "sa",
    "admitted_at": "aa", "created_at": "ca", "started_at": "sta", "finished_at": "fa", "idempotency_key": "ik",
    "channel": "ch", "card_ts": "ts", "stopped_by": "sb", "approved_by": "ab", "eta": "eta", "over_quota": "oq",
    "preemptions": "pre", "making_room": "mr", "node_names": "nn", "diagnosis": "dg", "held_by": "hb",
    "after": "af", "after_met": "am", "trainer_progress": "tpg", "trainer_remaining_s": "trs",
    "cluster": "cl", "cluster_wanted": "cw", "unreachable_since": "us",
}
_LONG = {v: k for k, v in SHORT.items()}
_NAMES = tuple(f.name for f in dataclasses.fields(JobRecord))
_KNOWN = frozenset(_NAMES)
_NONE = object()
_ALWAYS = frozenset({"name", "namespace", "team", "owner", "state", "idempotency_key"})
_DEFAULTS: dict[str, Any] = dataclasses.asdict(JobRecord("", "", "", "", "", 0, ""))
for _required in ("name", "namespace", "team", "owner", "image", "gpus", "gpu_type"):
    del _DEFAULTS[_required]


@dataclass(frozen=True)
class SubmitResult:
    record: JobRecord  # the stored record: the new one, or the existing one on a retry or conflict
    created: bool
    conflict: bool  # namespace/name already taken by another submission
