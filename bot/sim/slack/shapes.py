"""The Slack Web API's shapes, as Slack has them: call arguments as ``WebClient`` sends them, message
metadata as Slack keeps it, ``conversations.history`` pages as Slack answers them."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

# Form-encoded calls carry these as JSON strings; decoded so callers see structures.
_JSON_ARGS = frozenset({"blocks", "attachments", "view", "files", "metadata"})


def _flag(value: Any) -> bool:
    """A boolean Web API argument: slack_sdk sends query booleans as 1/0, JSON bodies as true/false."""
    return value is True or str(value).lower() in ("true", "1")


def message_metadata(args: dict[str, Any]) -> dict[str, Any] | None:
    """A message's ``metadata`` argument as Slack keeps it (event_type + event_payload), or None."""
    meta = args.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("event_type"), str):
        return None
    payload = meta.get("event_payload")
    return {"event_type": meta["event_type"], "event_payload": payload if isinstance(payload, dict) else {}}


def history_page(channel: str, messages: dict[tuple[str, str], dict[str, Any]], args: dict[str, Any],
                 ) -> dict[str, Any]:
    """``conversations.history`` as Slack answers it: top-level messages, newest first, ``oldest``/``latest``
    bounds, ``limit`` and a cursor; ``metadata`` only with ``include_all_metadata``."""
    def bound(name: str) -> float | None:
        value = args.get(name)
        try:
            return float(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            return None

    oldest, latest, inclusive = bound("oldest"), bound("latest"), _flag(args.get("inclusive"))
    found = []
    for (ch, ts), m in messages.items():
        at = float(ts)
        if ch != channel or (m.get("thread_ts") and m.get("thread_ts") != ts):
            continue
        if oldest is not None and (at < oldest or (at == oldest and not inclusive)):
            continue
        if latest is not None and (at > latest or (at == latest and not inclusive)):
            continue
        found.append(m)
    found.sort(key=lambda m: float(m["ts"]), reverse=True)
    try:
        start = int(str(args.get("cursor") or "0"))
        limit = max(1, min(999, int(str(args.get("limit") or "100"))))
    except ValueError:
        return {"ok": False, "error": "invalid_cursor"}
    with_meta = _flag(args.get("include_all_metadata"))
    page = [m if with_meta else {k: v for k, v in m.items() if k != "metadata"} for m in found[start:start + limit]]
    more = start + limit < len(found)
    return {"ok": True, "messages": [dict(m) for m in page], "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""}}


def parse_web_api_args(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """A Web API call's arguments, as WebClient sends them (query, form or JSON; JSON-valued fields decoded)."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if body and content_type.startswith("application/json"):
        loaded = json.loads(body)
        if isinstance(loaded, dict):
            args.update(loaded)
    elif body:
        args.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for k in _JSON_ARGS & args.keys():
        if isinstance(args[k], str) and args[k][:1] in "[{":
            args[k] = json.loads(args[k])
    return args
