"""A policy file's problems in the reader's words: the key, what is wrong, and the fix."""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from bot.domain import messages as msg

# The unit a whole-number key counts, for "must be a whole number of GPUs".
_UNITS = {"gpu_quota": "GPUs", "gpus": "GPUs", "max_gpus_per_job": "GPUs", "nodes": "nodes",
          "max_nodes_per_job": "nodes", "cpu_per_gpu": "CPUs", "backfill_depth": "jobs",
          "master_port": "a port", "termination_grace_period_s": "seconds"}


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


def _keys_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> list[str]:
    """The keys the model at ``loc`` (a pydantic error location, without the bad key) accepts."""
    model: type[BaseModel] | None = root
    parts = list(loc)
    while parts and model is not None:
        field = model.model_fields.get(str(parts.pop(0)))
        if field is None:
            return []
        model, skip = _model_in(field.annotation)
        del parts[:skip]
    return sorted(model.model_fields) if model is not None else []


def explain(err: PydanticValidationError, root: type[BaseModel]) -> list[str]:
    """Each problem pydantic found, as `key: what is wrong` with the fix where there is one."""
    problems = []
    errors = err.errors()
    # A misspelt required key shows once, as the did-you-mean of the misspelling, not also as missing.
    suggested = {(*e["loc"][:-1], close[0]) for e in errors if e["type"] == "extra_forbidden"
                 for close in [difflib.get_close_matches(str(e["loc"][-1]), _keys_at(root, e["loc"][:-1]), n=1)]
                 if close}
    for e in errors:
        if e["type"] == "missing" and tuple(e["loc"]) in suggested:
            continue
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        key = str(e["loc"][-1]) if e["loc"] else ""
        if e["type"] == "extra_forbidden":
            known = _keys_at(root, e["loc"][:-1])
            close = difflib.get_close_matches(key, known, n=1)
            problems.append(msg.config_unknown_key(loc, close[0] if close else None, known))
        elif e["type"] == "missing":
            problems.append(msg.config_missing_key(loc))
        elif e["type"] in ("int_parsing", "int_type", "int_from_float") and key in _UNITS:
            problems.append(msg.config_not_whole_number(loc, e.get("input"), _UNITS[key]))
        elif e["type"] == "list_type":
            problems.append(f"{loc}: {e.get('input')!r} must be a list, e.g. [{e.get('input')}]")
        elif e["type"] == "greater_than":
            limit = (e.get("ctx") or {}).get("gt")
            problems.append(f"{loc}: {e.get('input')!r} must be more than {limit}; leave the key out for its default")
        else:
            text = str(e["msg"]).removeprefix("Value error, ")
            # the checks across keys name their keys themselves, one problem a line
            problems += [t if not e["loc"] else f"{loc}: {t}" for t in text.split("\n")]
    return problems
