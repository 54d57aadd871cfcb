"""The policy file (``CHATOPS_CONFIG``): who may do what, on which GPUs, with which images.

Pydantic models at the edge; ``load_policy`` turns every problem into a ``ConfigError`` whose
lines name the key and the fix. ``shared/examples/chatops.yaml`` loads as it is.
"""

from __future__ import annotations

import difflib
import re
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from bot.domain import messages as msg
from bot.domain.durations import parse_duration
from bot.domain.errors import ConfigError
from bot.domain.names import DNS1123_LABEL, image_problem
from bot.domain.policy.org import DEFAULT_APPROVAL_TTL_S, ApprovalRule, AuditSettings, is_group

PositiveInt = Annotated[int, Field(gt=0)]
# Public channels are C…, private ones G…; the bot posts by ID (a name like #vision can be renamed).
SLACK_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")
# The unit a whole-number key counts, for "must be a whole number of GPUs".
_UNITS = {"gpu_quota": "GPUs", "gpus": "GPUs", "max_gpus_per_job": "GPUs", "nodes": "nodes",
          "max_nodes_per_job": "nodes", "cpu_per_gpu": "CPUs", "backfill_depth": "jobs",
          "master_port": "a port", "termination_grace_period_s": "seconds"}


def _channel_id(value: str | None) -> str | None:
    if value is not None and not SLACK_CHANNEL_ID.fullmatch(value):
        raise ValueError(msg.config_not_a_channel_id(value))
    return value


def _duration(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected a duration like 12h")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError("must be a positive number of seconds")
        return value
    if not isinstance(value, str):
        raise ValueError("expected a duration like 12h, 90m or 7d")
    return parse_duration(value)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Team(_Strict):
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


class Limits(_Strict):
    max_gpus_per_job: PositiveInt = 32
    max_nodes_per_job: PositiveInt = 4
    default_time_limit: int = 86400
    max_time_limit: int = 7 * 86400
    high_priority: list[str] = Field(default_factory=list)

    _durations = field_validator("default_time_limit", "max_time_limit", mode="before")(
        lambda cls, v: _duration(v)
    )

    @model_validator(mode="after")
    def _default_within_max(self) -> Limits:
        if self.default_time_limit > self.max_time_limit:
            raise ValueError("default_time_limit is longer than max_time_limit; lower it or raise the max")
        return self


class Images(_Strict):
    allowed: list[str] = Field(default_factory=list)


class Template(_Strict):
    image: str | None = None
    command: list[str] | None = None
    gpus: PositiveInt | None = None
    gpu_type: str | None = None
    nodes: PositiveInt | None = None
    time_limit: int | None = None
    priority: Literal["low", "normal", "high"] | None = None
    env: dict[str, str] = Field(default_factory=dict)

    _time = field_validator("time_limit", mode="before")(lambda cls, v: None if v is None else _duration(v))

    @field_validator("image")
    @classmethod
    def _image(cls, v: str | None) -> str | None:
        if v is not None and (problem := image_problem(v)):
            raise ValueError(problem)
        return v


class AlertRoute(_Strict):
    match: dict[str, str]
    channel: str

    _channel = field_validator("channel")(lambda cls, v: _channel_id(v))


class Alerts(_Strict):
    routes: list[AlertRoute] = Field(default_factory=list)
    default_channel: str | None = None

    _channel = field_validator("default_channel")(lambda cls, v: _channel_id(v))


class JobDefaults(_Strict):
    """Resources every job gets beside its GPUs (keys the example file may omit)."""

    cpu_per_gpu: PositiveInt = 8
    memory_per_gpu: str = "64Gi"
    shm_size: str = "32Gi"
    master_port: PositiveInt = 29500
    termination_grace_period_s: int = Field(default=120, ge=0)


class Scheduler(_Strict):
    """Who admits jobs, and tuning of the bot's own queue (every key optional).

    ``scheduler: kueue`` (or ``scheduler: {mode: kueue, ...}``) hands admission to the cluster's Kueue:
    the bot creates suspended, queue-labelled jobs and follows Kueue's Workloads. ``builtin`` (the
    default) is the bot's own queue: fair-share memory, backfill depth, ETA horizon.
    """

    mode: Literal["builtin", "kueue"] = "builtin"
    fair_share_half_life: int = 24 * 3600
    backfill_depth: PositiveInt = 1000
    eta_horizon: int = 7 * 86400

    _durations = field_validator("fair_share_half_life", "eta_horizon", mode="before")(
        lambda cls, v: _duration(v)
    )

    @model_validator(mode="before")
    @classmethod
    def _mode_only(cls, value: Any) -> Any:
        return {"mode": value} if isinstance(value, str) else value


class Policy(_Strict):
    admins: list[str] = Field(default_factory=list)
    teams: dict[str, Team]
    limits: Limits = Field(default_factory=Limits)
    images: Images = Field(default_factory=Images)
    gpu_types: dict[str, str]
    templates: dict[str, Template] = Field(default_factory=dict)
    alerts: Alerts = Field(default_factory=Alerts)
    job_defaults: JobDefaults = Field(default_factory=JobDefaults)
    scheduler: Scheduler = Field(default_factory=Scheduler)
    redis_prefix: str = "chatops:"
    approvals: list[ApprovalRule] = Field(default_factory=list)
    approval_ttl: int = DEFAULT_APPROVAL_TTL_S
    audit: AuditSettings = Field(default_factory=AuditSettings)
    # Users that user groups put in two teams (set when groups are resolved): refused, both teams named.
    _conflicts: dict[str, tuple[str, ...]] = PrivateAttr(default_factory=dict)

    _ttl = field_validator("approval_ttl", mode="before")(lambda cls, v: _duration(v))

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        problems: list[str] = []
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
        if problems:
            raise ValueError("; ".join(problems))
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


def _model_in(annotation: Any) -> tuple[type[BaseModel] | None, int]:
    """The model an annotation holds, and how many location parts (dict keys, list indexes) lead to it."""
    origin = get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, 0
    if origin is Annotated:
        return _model_in(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        for arg in get_args(annotation):
            if (found := _model_in(arg))[0] is not None:
                return found
    if origin in (dict, list):
        model, depth = _model_in(get_args(annotation)[-1])
        return model, depth + 1
    return None, 0


def _keys_at(loc: tuple[int | str, ...]) -> list[str]:
    """The keys the model at ``loc`` (a pydantic error location, without the bad key) accepts."""
    model: type[BaseModel] | None = Policy
    parts = list(loc)
    while parts and model is not None:
        field = model.model_fields.get(str(parts.pop(0)))
        if field is None:
            return []
        model, skip = _model_in(field.annotation)
        del parts[:skip]
    return sorted(model.model_fields) if model is not None else []


def _explain(err: PydanticValidationError) -> list[str]:
    problems = []
    errors = err.errors()
    # A misspelt required key shows once, as the did-you-mean of the misspelling, not also as missing.
    suggested = {(*e["loc"][:-1], close[0]) for e in errors if e["type"] == "extra_forbidden"
                 for close in [difflib.get_close_matches(str(e["loc"][-1]), _keys_at(e["loc"][:-1]), n=1)] if close}
    for e in errors:
        if e["type"] == "missing" and tuple(e["loc"]) in suggested:
            continue
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        key = str(e["loc"][-1]) if e["loc"] else ""
        if e["type"] == "extra_forbidden":
            known = _keys_at(e["loc"][:-1])
            close = difflib.get_close_matches(key, known, n=1)
            problems.append(msg.config_unknown_key(loc, close[0] if close else None, known))
        elif e["type"] == "missing":
            problems.append(msg.config_missing_key(loc))
        elif e["type"] in ("int_parsing", "int_type", "int_from_float") and key in _UNITS:
            problems.append(msg.config_not_whole_number(loc, e.get("input"), _UNITS[key]))
        else:
            text = str(e["msg"]).removeprefix("Value error, ")
            problems.append(f"{loc}: {text}")
    return problems


def parse_policy(data: Any) -> Policy:
    if not isinstance(data, dict):
        raise ConfigError(["(top level): the policy file must be a mapping of keys (admins, teams, ...)"])
    try:
        return Policy.model_validate(data)
    except PydanticValidationError as err:
        raise ConfigError(_explain(err)) from err


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file; every problem names the key and the fix."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError([f"{path}: cannot read the policy file ({err.strerror})"]) from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError([f"{path}: not valid YAML ({err})"]) from err
    return parse_policy(data)
