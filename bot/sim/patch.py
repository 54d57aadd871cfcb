"""PATCH bodies: JSON merge patch (RFC 7386), strategic merge (keyed lists) and JSON patch (RFC 6902)."""

from __future__ import annotations

from typing import Any

from bot.domain.cluster.objects import Obj
from bot.sim.status import ApiError, bad_request
from bot.sim.store import clone
from bot.sim.strategic import strategic_merge


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return clone(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _walk(doc: Any, pointer: str) -> tuple[Any, str]:
    """The container holding the pointer's last token, and that token."""
    if not pointer.startswith("/"):
        raise bad_request(f"invalid JSON pointer {pointer!r}")
    tokens = [_unescape(t) for t in pointer[1:].split("/")]
    cur = doc
    for token in tokens[:-1]:
        try:
            cur = cur[int(token)] if isinstance(cur, list) else cur[token]
        except (KeyError, IndexError, ValueError, TypeError):
            raise _unprocessable(f"path {pointer!r} does not exist") from None
    return cur, tokens[-1]


def _unprocessable(message: str) -> ApiError:
    return ApiError(
        422, "Invalid", f"the server rejected our request due to an error in our request: {message}"
    )


def _get(container: Any, token: str) -> Any:
    try:
        return container[int(token)] if isinstance(container, list) else container[token]
    except (KeyError, IndexError, ValueError, TypeError):
        raise _unprocessable(f"missing value at {token!r}") from None


def _add(container: Any, token: str, value: Any) -> None:
    if isinstance(container, list):
        index = len(container) if token == "-" else int(token)
        container.insert(index, value)
    elif isinstance(container, dict):
        container[token] = value
    else:
        raise _unprocessable(f"cannot add at {token!r}")


def _remove(container: Any, token: str) -> Any:
    value = _get(container, token)
    if isinstance(container, list):
        del container[int(token)]
    else:
        del container[token]
    return value


def json_patch(doc: Obj, ops: Any) -> Obj:
    if not isinstance(ops, list):
        raise bad_request("json patch must be a list of operations")
    out: Obj = clone(doc)
    for op in ops:
        if not isinstance(op, dict) or "path" not in op:
            raise bad_request(f"invalid json patch operation {op!r}")
        container, token = _walk(out, op["path"])
        kind = op.get("op")
        if kind == "add":
            _add(container, token, clone(op.get("value")))
        elif kind == "replace":
            _get(container, token)
            if isinstance(container, list):
                container[int(token)] = clone(op.get("value"))
            else:
                container[token] = clone(op.get("value"))
        elif kind == "remove":
            _remove(container, token)
        elif kind == "test":
            if _get(container, token) != op.get("value"):
                raise _unprocessable(f"test failed at {op['path']!r}")
        elif kind in ("move", "copy"):
            src_container, src_token = _walk(out, str(op.get("from", "")))
            value = (
                _remove(src_container, src_token) if kind == "move" else clone(_get(src_container, src_token))
            )
            container, token = _walk(out, op["path"])
            _add(container, token, value)
        else:
            raise bad_request(f"unsupported json patch operation {kind!r}")
    return out


def apply_patch(doc: Obj, content_type: str, body: Any, model: str | None = None) -> Obj:
    """``doc`` patched; ``model`` (the kind's client model) gives strategic merges their list keys."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype == "application/json-patch+json":
        return json_patch(doc, body)
    if ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
        if not isinstance(body, dict):
            raise bad_request("merge patch body must be a JSON object")
        if ctype == "application/strategic-merge-patch+json":
            merged: Obj = strategic_merge(model, doc, body)
            return merged
        result: Obj = merge_patch(doc, body)
        return result
    raise ApiError(
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - "
        "accepted media types include: application/json-patch+json, "
        "application/merge-patch+json, application/strategic-merge-patch+json",
    )
