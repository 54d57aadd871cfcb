"""Contract dict → Action: the inverse of ``actions.to_dict``, strict about types and values.

Used for what comes back from outside the core — the thread context read from Redis and the
fields an LLM proposed — so both pass the same checks before anything acts on them. Keys that
are not contract fields (``user``, ``team``, ``namespace``...) are dropped: no input can carry them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.actions import (
    JOB_STATES,
    PRIORITIES,
    SCOPES,
    Action,
    Clarify,
    Gpus,
    Help,
    JobState,
    Launch,
    ListJobs,
    Logs,
    Queue,
    Scope,
    Status,
    Stop,
)
from bot.domain.language.values import normalize_gpu_type

# A launch's fields that a template may fill when the user did not give them.
LAUNCH_FIELDS = ("name", "template", "image", "gpus", "gpu_type", "nodes", "time_limit_s", "priority",
                 "command", "env")
_MAX_INT = 1_000_000_000  # beyond any GPU count, node count, tail or time limit a person means


class CodecError(ValueError):
    """The dict is not a valid action of the contract."""


def _str(v: Any, key: str) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str):
        raise CodecError(f"{key}: expected a string")
    v = v.strip()
    return v or None


def _int(v: Any, key: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= _MAX_INT:
        raise CodecError(f"{key}: expected a non-negative integer")
    return v


def _one_of(v: Any, allowed: tuple[str, ...], key: str) -> str | None:
    if v is None:
        return None
    if not isinstance(v, str) or v.lower() not in allowed:
        raise CodecError(f"{key}: expected one of {', '.join(allowed)}")
    return v.lower()


def _str_list(v: Any, key: str) -> tuple[str, ...] | None:
    if v is None:
        return None
    if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
        raise CodecError(f"{key}: expected a list of strings")
    return tuple(x for x in v if x.strip())


def _env(v: Any) -> tuple[tuple[str, str], ...]:
    if v is None:
        return ()
    if not isinstance(v, Mapping) or not all(isinstance(k, str) and isinstance(x, str) for k, x in v.items()):
        raise CodecError("env: expected an object of strings")
    return tuple(sorted(v.items()))


def _launch(d: Mapping[str, Any]) -> Launch:
    fields: dict[str, Any] = {}
    for key in ("name", "template", "image"):
        if (s := _str(d.get(key), key)) is not None:
            fields[key] = s.lower() if key == "name" else s
    for key in ("gpus", "nodes", "time_limit_s"):
        if (n := _int(d.get(key), key)) is not None:
            fields[key] = n
    if (t := _str(d.get("gpu_type"), "gpu_type")) is not None:
        fields["gpu_type"] = normalize_gpu_type(t)
    if (p := _one_of(d.get("priority"), PRIORITIES, "priority")) is not None:
        fields["priority"] = p
    if command := _str_list(d.get("command"), "command"):
        fields["command"] = command
    if env := _env(d.get("env")):
        fields["env"] = env
    given = d.get("given")
    if isinstance(given, list | tuple | frozenset | set):
        # A stored context keeps what the user gave, so a template still fills only the rest.
        chosen = frozenset(str(g) for g in given if g in LAUNCH_FIELDS) & frozenset(fields)
    else:
        chosen = frozenset(fields)
    return Launch(**fields, given=chosen)


def from_dict(d: Mapping[str, Any]) -> Action:
    """The action ``d`` describes (``{"action": "launch", ...}``); ``CodecError`` when it is invalid."""
    if not isinstance(d, Mapping):
        raise CodecError("expected an object")
    kind = d.get("action")
    if kind == "launch":
        return _launch(d)
    if kind == "status":
        return Status(job=_str(d.get("job"), "job"))
    if kind == "logs":
        tail = _int(d.get("tail"), "tail")
        return Logs(job=_str(d.get("job"), "job"), tail=tail if tail else 50)
    if kind == "list":
        scope: Scope = _one_of(d.get("scope"), SCOPES, "scope") or "mine"  # type: ignore[assignment]
        state: JobState | None = _one_of(d.get("state"), JOB_STATES, "state")  # type: ignore[assignment]
        return ListJobs(scope=scope, state=state)
    if kind == "stop":
        jobs = _str_list(d.get("jobs"), "jobs") or ()
        stop_scope: Scope | None = _one_of(d.get("scope"), SCOPES, "scope")  # type: ignore[assignment]
        stop_state: JobState | None = _one_of(d.get("state"), JOB_STATES, "state")  # type: ignore[assignment]
        return Stop(jobs=tuple(j.lower() for j in jobs), scope=stop_scope, state=stop_state)
    if kind == "queue":
        return Queue()
    if kind == "gpus":
        return Gpus()
    if kind == "help":
        return Help(topic=_str(d.get("topic"), "topic"))
    if kind == "clarify":
        question = _str(d.get("question"), "question")
        if question is None:
            raise CodecError("question: required for clarify")
        return Clarify(question=question)
    raise CodecError(f"action: unknown kind {kind!r}")

