"""The policy file (``CHATOPS_CONFIG``): who may do what, on which GPUs, with which images.

Pydantic models at the edge; ``load_policy`` turns every problem into a ``ConfigError`` whose
lines name the key and the fix. ``shared/examples/chatops.yaml`` loads as it is.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, NonNegativeFloat, PrivateAttr, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from bot.domain import messages as msg
from bot.domain.errors import ConfigError
from bot.domain.jobs import JobKind
from bot.domain.names import DNS1123_LABEL, image_problem
from bot.domain.policy.clusters import ClusterMap, cluster_problems, clusters_field
from bot.domain.policy.org import (
    DEFAULT_APPROVAL_TTL_S,
    ApprovalRule,
    AuditSettings,
    StrictModel,
    duration_value,
    is_group,
)
from bot.domain.policy.people import people_problems
from bot.domain.policy.problems import explain
from bot.domain.policy.workload_kinds import JobSetOptions, TrainerOptions

PositiveInt = Annotated[int, Field(gt=0)]
# Public channels are C…, private ones G…; the bot posts by ID (a name like #vision can be renamed).
SLACK_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")

def _channel_id(value: str | None) -> str | None:
    if value is not None and not SLACK_CHANNEL_ID.fullmatch(value):
        raise ValueError(msg.config_not_a_channel_id(value))
    return value


class Team(StrictModel):
    namespace: str
    members: list[str] = Field(default_factory=list)
    gpu_quota: PositiveInt
    channel: str | None = None

    _channel = field_validator("channel")(lambda cls, v: _channel_id(v))

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, v: str) -> str:
        if not DNS1123_LABEL.fullmatch(v) or len(v) > 63:
            raise ValueError(f"'{v}' is not a valid namespace name (lower-case letters, digits, '-')")
        return v


class Limits(StrictModel):
    max_gpus_per_job: PositiveInt = 32
    max_nodes_per_job: PositiveInt = 4
    default_time_limit: int = 86400
    max_time_limit: int = 7 * 86400
    high_priority: list[str] = Field(default_factory=list)
    # `/gpu extend` by more than this at once needs an admin (None: owners may extend up to the max)
    max_extend_without_admin: int | None = None

    _durations = field_validator("default_time_limit", "max_time_limit", mode="before")(
        lambda cls, v: duration_value(v)
    )
    _extend = field_validator("max_extend_without_admin", mode="before")(
        lambda cls, v: None if v is None else duration_value(v)
    )

    @model_validator(mode="after")
    def _default_within_max(self) -> Limits:
        if self.default_time_limit > self.max_time_limit:
            raise ValueError("default_time_limit is longer than max_time_limit; lower it or raise the max")
        return self


class Images(StrictModel):
    allowed: list[str] = Field(default_factory=list)


class Template(StrictModel):
    image: str | None = None
    command: list[str] | None = None
    gpus: PositiveInt | None = None
    gpu_type: str | None = None
    nodes: PositiveInt | None = None
    time_limit: int | None = None
    priority: Literal["low", "normal", "high"] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    job_kind: JobKind | None = None  # None: the policy's job_kind
    cluster: str | None = None  # a name of ``clusters``: where its jobs go (None: wherever there is room)

    _time = field_validator("time_limit", mode="before")(lambda cls, v: None if v is None else duration_value(v))

    @field_validator("image")
    @classmethod
    def _image(cls, v: str | None) -> str | None:
        if v is not None and (problem := image_problem(v)):
            raise ValueError(problem)
        return v


class AlertRoute(StrictModel):
    match: dict[str, str]
    channel: str

    _channel = field_validator("channel")(lambda cls, v: _channel_id(v))


class Alerts(StrictModel):
    routes: list[AlertRoute] = Field(default_factory=list)
    default_channel: str | None = None

    _channel = field_validator("default_channel")(lambda cls, v: _channel_id(v))


class JobDefaults(StrictModel):
    """Resources every job gets beside its GPUs (keys the example file may omit)."""

    cpu_per_gpu: PositiveInt = 8
    memory_per_gpu: str = "64Gi"
    shm_size: str = "32Gi"
    master_port: PositiveInt = 29500
    termination_grace_period_s: int = Field(default=120, ge=0)


class Scheduler(StrictModel):
    """Who admits jobs, and tuning of the bot's own queue (every key optional).

    ``scheduler: kueue`` (or ``scheduler: {mode: kueue, ...}``) hands admission to the cluster's Kueue:
    the bot creates suspended, queue-labelled jobs and follows Kueue's Workloads. ``builtin`` (the
    default) is the bot's own queue: fair-share memory, backfill depth, ETA horizon.
    """

    mode: Literal["builtin", "kueue"] = "builtin"
    fair_share_half_life: int = 24 * 3600
    backfill_depth: PositiveInt = 1000
    eta_horizon: int = 7 * 86400
    eta_depth: PositiveInt = 500  # waiting jobs (by position) that get an estimated start; "later" beyond

    _durations = field_validator("fair_share_half_life", "eta_horizon", mode="before")(
        lambda cls, v: duration_value(v)
    )

    @model_validator(mode="before")
    @classmethod
    def _mode_only(cls, value: Any) -> Any:
        return {"mode": value} if isinstance(value, str) else value


class Policy(StrictModel):
    admins: list[str] = Field(default_factory=list)
    teams: dict[str, Team]
    limits: Limits = Field(default_factory=Limits)
    images: Images = Field(default_factory=Images)
    gpu_types: dict[str, str]
    templates: dict[str, Template] = Field(default_factory=dict)
    alerts: Alerts = Field(default_factory=Alerts)
    job_defaults: JobDefaults = Field(default_factory=JobDefaults)
    scheduler: Scheduler = Field(default_factory=Scheduler)
    job_kind: JobKind = "job"  # what a launch creates: a batch/v1 Job, a JobSet, or a Kubeflow TrainJob
    jobset: JobSetOptions = Field(default_factory=JobSetOptions)
    trainer: TrainerOptions = Field(default_factory=TrainerOptions)
    redis_prefix: str = "chatops:"
    approvals: list[ApprovalRule] = Field(default_factory=list)
    approval_ttl: int = DEFAULT_APPROVAL_TTL_S
    audit: AuditSettings = Field(default_factory=AuditSettings)
    clusters: ClusterMap = clusters_field()  # name → context, GPU types, namespaces (none: the one cluster)
    # Users that user groups put in two teams (set when groups are resolved): refused, both teams named.
    _conflicts: dict[str, tuple[str, ...]] = PrivateAttr(default_factory=dict)

    # cost per GPU-hour by GPU type, for `/gpu report`; how long finished jobs stay in `/gpu history`
    gpu_prices: dict[str, NonNegativeFloat] = Field(default_factory=dict)
    retention: int = 90 * 86400

    _retention = field_validator("retention", mode="before")(lambda cls, v: duration_value(v))
    _ttl = field_validator("approval_ttl", mode="before")(lambda cls, v: duration_value(v))

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        approvers = [(f"approvals.{i}.approvers", rule.approvers) for i, rule in enumerate(self.approvals)]
        problems = people_problems(self.admins, self.limits.high_priority, self.teams, approvers)
        seen: dict[str, str] = {}
        for team_name, team in self.teams.items():
            for member in team.members:
                if member in seen and seen[member] != team_name:
                    problems.append(
                        f"teams.{team_name}.members: {member} is also in team '{seen[member]}'; "
                        "a user belongs to one team"
                    )
                seen[member] = team_name
        for name, tpl in self.templates.items():
            if tpl.gpu_type is not None and tpl.gpu_type not in self.gpu_types:
                problems.append(
                    f"templates.{name}.gpu_type: '{tpl.gpu_type}' is not in gpu_types "
                    f"({', '.join(sorted(self.gpu_types))})"
                )
        for i, rule in enumerate(self.approvals):
            if rule.when.template is not None and rule.when.template not in self.templates:
                problems.append(f"approvals.{i}.when.template: '{rule.when.template}' is not in templates "
                                f"({', '.join(sorted(self.templates)) or 'none defined'})")
        if self.scheduler.mode == "kueue":
            kinds = {"job_kind": self.job_kind} | {f"templates.{n}.job_kind": t.job_kind
                                                  for n, t in self.templates.items() if t.job_kind}
            problems += [f"{key}: '{kind}' is not supported with scheduler: kueue yet (the bot queues batch/v1 "
                         "Jobs in Kueue); use job_kind: job, or the builtin scheduler"
                         for key, kind in kinds.items() if kind != "job"]
        problems += cluster_problems(self.clusters, list(self.gpu_types), {t.namespace for t in self.teams.values()},
                                     {n: t.cluster for n, t in self.templates.items()}, self.scheduler.mode)
        problems += [f"gpu_prices.{t}: '{t}' is not in gpu_types ({', '.join(sorted(self.gpu_types))})"
                     for t in self.gpu_prices if t not in self.gpu_types]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def groups_named(self) -> list[str]:
        """Every Slack user group the policy names (members, admins, approvers, high_priority)."""
        refs = [*self.admins, *self.limits.high_priority, *(m for t in self.teams.values() for m in t.members),
                *(a for rule in self.approvals for a in rule.approvers)]
        return sorted({r for r in refs if is_group(r)})

    def conflicting_teams(self, user_id: str) -> tuple[str, ...]:
        return self._conflicts.get(user_id, ())

    # --- lookups the policy layer uses -----------------------------------------------------------

    def team_of(self, user_id: str) -> tuple[str, Team] | None:
        for name, team in self.teams.items():
            if user_id in team.members:
                return name, team
        return None

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.admins

    def kind_for(self, template: str | None) -> JobKind:
        """The kind a launch from ``template`` (or none) creates: the template's, else the policy's."""
        tpl = self.templates.get(template) if template else None
        return tpl.job_kind if tpl is not None and tpl.job_kind is not None else self.job_kind


def parse_policy(data: Any) -> Policy:
    if not isinstance(data, dict):
        raise ConfigError(["(top level): the policy file must be a mapping of keys (admins, teams, ...)"])
    try:
        return Policy.model_validate(data)
    except PydanticValidationError as err:
        raise ConfigError(explain(err, Policy)) from err


class _UniqueKeys(yaml.SafeLoader):
    """YAML keeps the last of two equal keys; in a policy that silently drops a team or a template."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key '{key}' appears twice here: rename one or merge them", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file; every problem names the key and the fix."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError([f"{path}: cannot read the policy file ({err.strerror})"]) from err
    try:
        data = yaml.load(text, Loader=_UniqueKeys)  # a SafeLoader
    except yaml.YAMLError as err:
        raise ConfigError([f"{path}: not valid YAML ({err})"]) from err
    return parse_policy(data)
