"""Strategic merge patch for the served kinds: keyed lists merge by their key, with kubectl's directives.

kubectl apply sends these (``$setElementOrder/containers``, partial list items keyed by ``name``); a plain
merge patch would replace the whole list and lose what the server defaulted. The keys are the ones the
Kubernetes types declare (``patchMergeKey``); the model graph tells which list a field is.
"""

from __future__ import annotations

from typing import Any

from bot.domain.cluster.objects import Obj
from bot.sim.openapi import MERGE_KEYS, NO_KEY, field_type, item_model
from bot.sim.store import clone


def merge_key(model: str | None, field: str) -> str | None:
    return MERGE_KEYS.get((model, field)) if model is not None else None


def _merge_list(model: str | None, field: str, current: list[Any], items: list[Any], key: str,
                order: list[Any] | None) -> list[Any]:
    if key == NO_KEY:
        merged = [*current, *(x for x in items if x not in current)]
    else:
        inner = item_model(model, field)
        merged = [clone(c) for c in current]
        for item in items:
            if not isinstance(item, dict):
                continue
            at = next((i for i, c in enumerate(merged) if isinstance(c, dict) and c.get(key) == item.get(key)), None)
            if item.get("$patch") == "delete":
                if at is not None:
                    del merged[at]
            elif at is None:
                merged.append(strategic_merge(inner, None, item))
            else:
                merged[at] = strategic_merge(inner, merged[at], item)
    if order:
        # $setElementOrder lists every item (by key) in the wanted order; items it does not name go last
        rank = {(o.get(key) if isinstance(o, dict) else o): i for i, o in enumerate(order)}
        merged.sort(key=lambda x: rank.get(x.get(key) if isinstance(x, dict) else x, len(rank)))
    return merged


def strategic_merge(model: str | None, target: Any, patch: Any) -> Any:
    """``target`` with ``patch`` applied; ``model`` is the client model name of ``target`` (or None)."""
    if not isinstance(patch, dict):
        return clone(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: clone(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    out: Obj = dict(target) if isinstance(target, dict) else {}
    orders = {k.split("/", 1)[1]: v for k, v in patch.items() if k.startswith("$setElementOrder/")}
    removals = {k.split("/", 1)[1]: v for k, v in patch.items() if k.startswith("$deleteFromPrimitiveList/")}
    for field, value in patch.items():
        if field.startswith("$"):
            continue
        if value is None:
            out.pop(field, None)
            continue
        key = merge_key(model, field)
        if key is not None and isinstance(value, list):
            current = out.get(field)
            out[field] = _merge_list(model, field, current if isinstance(current, list) else [], value, key,
                                     orders.get(field))
        else:
            merged = strategic_merge(field_type(model, field), out.get(field), value)
            if merged is None:
                out.pop(field, None)
            else:
                out[field] = merged
    for field, order in orders.items():
        key = merge_key(model, field)
        if field not in patch and key is not None and isinstance(out.get(field), list):
            out[field] = _merge_list(model, field, out[field], [], key, order)
    for field, values in removals.items():
        if isinstance(out.get(field), list) and isinstance(values, list):
            out[field] = [x for x in out[field] if x not in values]
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out
