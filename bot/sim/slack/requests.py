"""Inbound Slack HTTP requests built and signed exactly as Slack sends them.

Bodies are bytes (what gets signed); ``sign`` gives the headers; ``send`` signs and posts.
Shapes follow Slack's docs: slash commands are form-encoded fields, interactivity is a form
field ``payload=<json>``, Events API callbacks are a JSON envelope.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from bot.sim.slack.methods import BOT_ID, BOT_USER_ID, TEAM_ID

__all__ = ["API_APP_ID", "BOT_USER_ID", "TEAM_ID", "app_mention_event", "block_actions_body",
           "block_actions_payload", "event_body", "post", "send", "sign", "slash_command_body",
           "url_verification_body"]

TEAM_DOMAIN = "acme-ml"
API_APP_ID = "A0CHATOPS1"
VERIFICATION_TOKEN = "legacy-verification-token"  # deprecated by Slack but still sent in bodies
DEFAULT_RESPONSE_URL = "https://hooks.slack.com/commands/T0001/1/fake"  # pass fake.response_url() instead

_seq = itertools.count(1)


def _unique(prefix: str) -> str:
    return f"{prefix}{int(time.time())}{next(_seq):06d}"


def sign(
    body: bytes,
    secret: str,
    timestamp: int | None = None,
    *,
    content_type: str | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> dict[str, str]:
    """The headers Slack sends with ``body``: timestamp, ``v0=`` HMAC-SHA256 signature, content type.

    ``retry_num`` adds ``X-Slack-Retry-Num``/``X-Slack-Retry-Reason``, as on Slack's redeliveries.
    """
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    if content_type is None:
        is_json = body.lstrip()[:1] == b"{"
        content_type = "application/json" if is_json else "application/x-www-form-urlencoded"
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return headers


def slash_command_body(
    text: str,
    user_id: str,
    channel_id: str = "CRESEARCH1",
    response_url: str = DEFAULT_RESPONSE_URL,
    trigger_id: str | None = None,
    command: str = "/gpu",
    team_id: str = TEAM_ID,
    user_name: str | None = None,
    channel_name: str = "research",
) -> bytes:
    """A slash command invocation, form-encoded in the field order Slack uses."""
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _unique("13345224609."),
    }
    return urlencode(fields).encode()


def block_actions_payload(
    action_id: str,
    value: str,
    user_id: str,
    channel_id: str = "CRESEARCH1",
    message_ts: str | None = None,
    response_url: str = DEFAULT_RESPONSE_URL,
    container: dict[str, Any] | None = None,
    trigger_id: str | None = None,
    *,
    block_id: str = "actions",
    message: dict[str, Any] | None = None,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """The ``block_actions`` payload for a button click (before form encoding).

    Without ``message_ts`` the click is on an ephemeral message (Slack then sends no ``message``).
    """
    ephemeral = message_ts is None
    ts = message_ts or f"{time.time():.6f}"
    if container is None:
        container = {"type": "message", "message_ts": ts, "channel_id": channel_id,
                     "is_ephemeral": ephemeral}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "api_app_id": API_APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id or _unique("13345224609."),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "research"},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    if not ephemeral:
        payload["message"] = message or {
            "type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts, "text": "", "blocks": [],
        }
    return payload


def block_actions_body(
    action_id: str,
    value: str,
    user_id: str,
    channel_id: str = "CRESEARCH1",
    message_ts: str | None = None,
    response_url: str = DEFAULT_RESPONSE_URL,
    container: dict[str, Any] | None = None,
    trigger_id: str | None = None,
    **more: Any,
) -> bytes:
    """A button click as Slack posts it: form-encoded ``payload=<json>``."""
    payload = block_actions_payload(
        action_id, value, user_id, channel_id, message_ts, response_url, container, trigger_id, **more
    )
    return urlencode({"payload": json.dumps(payload)}).encode()


def event_body(
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    event_time: int | None = None,
    team_id: str = TEAM_ID,
) -> bytes:
    """An Events API ``event_callback`` envelope; reuse ``event_id`` to model Slack's redelivery."""
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or _unique("Ev"),
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {"enterprise_id": None, "team_id": team_id, "user_id": BOT_USER_ID, "is_bot": True,
             "is_enterprise_install": False}
        ],
        "is_ext_shared_channel": False,
        "event_context": _unique("4-"),
    }
    return json.dumps(envelope).encode()


def app_mention_event(
    text: str, user_id: str, channel_id: str = "CRESEARCH1", ts: str | None = None
) -> dict[str, Any]:
    """An ``app_mention`` event (``text`` should start with ``<@BOT_USER_ID>`` as Slack writes it)."""
    ts = ts or f"{time.time():.6f}"
    return {"type": "app_mention", "user": user_id, "text": text, "ts": ts, "channel": channel_id,
            "event_ts": ts, "team": TEAM_ID}


def url_verification_body(challenge: str) -> bytes:
    body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return json.dumps(body).encode()


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float = 5
) -> tuple[int, dict[str, str], bytes]:
    """POST and return (status, headers, body); 4xx/5xx are returned, not raised."""
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, dict(err.headers.items()), err.read()


def send(
    url: str,
    body: bytes,
    secret: str,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    timeout: float = 5,
) -> tuple[int, dict[str, str], bytes]:
    """Sign ``body`` with ``secret`` and POST it to ``url`` (e.g. the bot's ``/slack/events``)."""
    headers = sign(body, secret, timestamp, retry_num=retry_num, retry_reason=retry_reason)
    return post(url, body, headers, timeout)
