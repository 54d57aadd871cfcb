"""The gate in front of bolt for ``POST /slack/events``: signature first, on the raw bytes; then a parse
that refuses (400) what bolt could not read; then replay protection.

Bolt parses the body while it builds its request object, before its own signature check, and reads
nested fields (``event``, ``actions``, ``authorizations`` …) with ``.get`` and ``[0]``: an unsigned
``{not json`` or a signed ``"actions": "x"`` made it raise. So nothing of the body is looked at before
the HMAC matches, and only envelopes of the shape bolt expects reach it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.domain.errors import BackendError

log = logging.getLogger(__name__)

WINDOW_S = 5 * 60  # Slack's (and bolt's) window for X-Slack-Request-Timestamp

# The nested objects bolt's context extraction dereferences: each must be an object when present.
_OBJECT_FIELDS = ("event", "view", "message", "previous_message", "container", "item", "assistant_thread",
                  "function_data", "state", "enterprise", "team", "channel", "user", "bot_profile")
# Fields bolt takes as a string or an object with an id ("user": "U1" in events, {"id": …} in payloads).
_ID_FIELDS = ("user", "team", "channel", "enterprise")


@dataclass(frozen=True)
class Verdict:
    """``status`` None: pass the request on; otherwise the answer and a one-line reason for the log."""

    status: int | None
    reason: str = ""
    body: bytes = b""


PASS = Verdict(None)


def signature_problem(headers: Mapping[str, str], raw: bytes, secret: str, now: float) -> str | None:
    """None when ``raw`` carries a valid ``v0`` signature within the window; else why not (no secret)."""
    ts = headers.get("x-slack-request-timestamp", "")
    given = headers.get("x-slack-signature", "")
    if not ts or not given:
        return "no signature headers"
    if not ts.isdigit() or len(ts) > 12:  # also keeps int() from a 5,000-digit header
        return "timestamp is not a number of seconds"
    if abs(now - int(ts)) > WINDOW_S:
        return "timestamp outside the 5-minute window"
    base = b"v0:" + ts.encode() + b":" + raw
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.encode("utf-8", "replace")):
        return "signature does not match"
    return None


class _Envelope(BaseModel):
    """The shape of every Slack envelope as far as bolt reads it before our listeners' own models."""

    model_config = ConfigDict(extra="allow", strict=True)

    type: str | None = None
    response_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+/")  # respond() posts there
    actions: list[dict[str, Any]] | None = None
    authorizations: list[dict[str, Any]] | None = None


def _shape_problem(body: dict[str, Any], depth: int = 0) -> str | None:
    try:
        _Envelope.model_validate(body)
    except ValidationError as err:
        first = err.errors()[0]
        return f"`{'.'.join(str(p) for p in first['loc'])}`: {first['msg']}"
    for name in _OBJECT_FIELDS:
        value = body.get(name)
        if value is None or isinstance(value, dict) or (name in _ID_FIELDS and isinstance(value, str)):
            continue
        return f"`{name}` is a {type(value).__name__}, not an object"
    for entry in (body.get("actions") or []) + (body.get("authorizations") or []):
        if (why := _id_problem(entry)) is not None:
            return why
    if depth == 0 and body.get("type") == "block_actions" and body.get("view") is None and not body.get("response_url"):
        return "a click on a message without a `response_url`"  # Slack sends one; the answer goes there
    if depth == 0:
        for name in ("event", "view", "message", "previous_message", "container"):
            nested = body.get(name)
            if isinstance(nested, dict) and (why := _shape_problem(nested, depth + 1)) is not None:
                return f"in `{name}`: {why}"
    return None


def _id_problem(entry: dict[str, Any]) -> str | None:
    for name in _ID_FIELDS:
        value = entry.get(name)
        if value is not None and not isinstance(value, dict | str):
            return f"`{name}` is a {type(value).__name__}"
    return None


def payload_problem(raw: bytes, content_type: str) -> str | None:
    """None when bolt can parse ``raw`` as bolt would (JSON envelope, form fields, ``payload=<json>``)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    where = "the JSON body"
    try:  # the same choice as bolt's parse_body: a JSON body, else form fields with perhaps a JSON payload
        if content_type.split(";")[0].strip() == "application/json" or text.startswith("{"):
            body = json.loads(text) if text else {}
        else:
            fields = dict(parse_qsl(text, keep_blank_values=True))
            if "payload" not in fields:
                return None  # a slash command: flat form fields, read by our listener's own model
            where = "the `payload` field"
            body = json.loads(fields["payload"])
    except (ValueError, RecursionError) as err:  # json.JSONDecodeError is a ValueError
        return f"{where} is not JSON ({type(err).__name__})"
    if not isinstance(body, dict):
        return f"{where} is a {type(body).__name__}, not an object"
    return _shape_problem(body)


class SlackGate:
    """Decides what becomes of one request to ``/slack/events`` before bolt sees it.

    ``first_time(signature, ttl_s)`` (a port, Redis in production) answers False for a signature seen
    within its window: the replay is acknowledged (200) and not processed again. Slack's own retries
    carry a new timestamp and signature, so they still pass to bolt, which handles them as before.
    """

    def __init__(self, secret: str, first_time: Callable[[str, int], bool] | None,
                 clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._first_time = first_time
        self._clock = clock

    def check(self, headers: Mapping[str, str], raw: bytes) -> Verdict:
        now = self._clock()
        if (why := signature_problem(headers, raw, self._secret, now)) is not None:
            return Verdict(401, f"bad signature: {why}", b'{"error": "invalid request"}')
        if (why := payload_problem(raw, headers.get("content-type", ""))) is not None:
            return Verdict(400, f"signed but unparseable: {why}", b'{"error": "malformed request"}')
        if self._first_time is not None:
            signature = headers["x-slack-signature"]
            # kept as long as the signature itself would be accepted: until its timestamp leaves the window
            ttl = max(1, int(int(headers["x-slack-request-timestamp"]) + WINDOW_S - now) + 1)
            try:
                first = self._first_time(signature, ttl)
            except BackendError as err:  # the request's own work answers the outage clearly; do not block it
                log.warning("replay check skipped: %s", err)
                first = True
            if not first:
                return Verdict(200, "replay of a signed request already processed: ignored")
        return PASS
