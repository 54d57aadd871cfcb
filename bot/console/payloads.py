"""The requests Slack would send, built and signed for the console, and posted to ``/slack/events``.

The bot verifies them exactly as it verifies Slack (HMAC-SHA256 of ``v0:timestamp:body`` with the
signing secret); the console holds a random secret made for this run only.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.console.slack_surface import BOT_USER_ID, TEAM_ID

API_APP_ID = "ACONSOLE01"
_seq = itertools.count(1)


def _unique(prefix: str) -> str:
    return f"{prefix}{time.time_ns()}{next(_seq):04d}"


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = "v0=" + hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    content_type = "application/json" if body[:1] == b"{" else "application/x-www-form-urlencoded"
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def slash_command(text: str, user: str, channel: str, response_url: str, command: str = "/gpu") -> bytes:
    fields = {
        "team_id": TEAM_ID, "team_domain": "console", "channel_id": channel, "channel_name": channel.lower(),
        "user_id": user, "user_name": user.lower(), "command": command, "text": text, "api_app_id": API_APP_ID,
        "is_enterprise_install": "false", "response_url": response_url, "trigger_id": _unique("console."),
    }
    return urlencode(fields).encode()


def block_actions(action_id: str, value: str, block_id: str, user: str, channel: str, response_url: str,
                  message: dict[str, Any] | None) -> bytes:
    """A button click; ``message`` is the clicked message, None for an ephemeral one (Slack sends none)."""
    ts = str(message["ts"]) if message else f"{time.time():.6f}"
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM_ID},
        "api_app_id": API_APP_ID,
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": message is None},
        "trigger_id": _unique("console."),
        "team": {"id": TEAM_ID, "domain": "console"},
        "channel": {"id": channel, "name": channel.lower()},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": block_id, "value": value, "type": "button",
                     "text": {"type": "plain_text", "text": action_id}, "action_ts": f"{time.time():.6f}"}],
    }
    if message is not None:
        payload["message"] = message
    return urlencode({"payload": json.dumps(payload)}).encode()


def sentence_event(text: str, user: str, channel: str) -> bytes:
    """A sentence: a DM (``message.im``) in a ``D…`` channel, else an ``app_mention`` of the bot."""
    ts = f"{time.time():.6f}"
    event: dict[str, Any]
    if channel.startswith("D"):
        event = {"type": "message", "channel_type": "im", "user": user, "text": text, "ts": ts,
                 "channel": channel, "event_ts": ts, "team": TEAM_ID}
    else:
        event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts,
                 "channel": channel, "event_ts": ts, "team": TEAM_ID}
    envelope = {
        "team_id": TEAM_ID, "api_app_id": API_APP_ID, "event": event, "type": "event_callback",
        "event_id": _unique("Ev"), "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    }
    return json.dumps(envelope).encode()


def home_opened_event(user: str) -> bytes:
    """The person opened the app's Home tab."""
    event = {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home",
             "event_ts": f"{time.time():.6f}"}
    return json.dumps({"team_id": TEAM_ID, "api_app_id": API_APP_ID, "event": event, "type": "event_callback",
                       "event_id": _unique("Ev"), "event_time": int(time.time())}).encode()


@dataclass(frozen=True)
class BotLink:
    """Where the bot listens and the secret it checks."""

    events_url: str
    secret: str

    def send(self, body: bytes, timeout: float = 10.0) -> tuple[int, str]:
        """Sign and POST; (status, body). A 4xx/5xx is returned, a refused connection is (0, why)."""
        req = urllib.request.Request(self.events_url, data=body, headers=sign(body, self.secret), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return int(resp.status), resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            with err:
                return int(err.code), err.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as err:
            return 0, str(err)
