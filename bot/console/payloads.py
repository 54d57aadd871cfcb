"""The requests Slack would send for what the console's person types and clicks, built by the shared
builders (``bot.sim.slack.requests``) and posted, signed, to the bot's ``/slack/events``.

The bot verifies them exactly as it verifies Slack (HMAC-SHA256 of ``v0:timestamp:body`` with the
signing secret); the console holds a random secret made for this run only.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from bot.sim.slack import requests as sr


def slash_command(text: str, user: str, channel: str, response_url: str, command: str = "/gpu") -> bytes:
    return sr.slash_command_body(text, user, channel, response_url, command=command,
                                 channel_name=channel.lower())


def block_actions(action_id: str, value: str, block_id: str, user: str, channel: str, response_url: str,
                  message: dict[str, Any] | None) -> bytes:
    """A button click; ``message`` is the clicked message, None for an ephemeral one (Slack sends none)."""
    return sr.block_actions_body(action_id, value, user, channel, str(message["ts"]) if message else None,
                                 response_url, block_id=block_id, message=message)


def sentence_event(text: str, user: str, channel: str) -> bytes:
    """A sentence: a DM (``message.im``) in a ``D…`` channel, else an ``app_mention`` of the bot."""
    if channel.startswith("D"):
        ts = f"{time.time():.6f}"
        event = {"type": "message", "channel_type": "im", "user": user, "text": text, "ts": ts,
                 "channel": channel, "event_ts": ts, "team": sr.TEAM_ID}
        return sr.event_body(event)
    return sr.event_body(sr.app_mention_event(f"<@{sr.BOT_USER_ID}> {text}", user, channel))


def home_opened_event(user: str) -> bytes:
    """The person opened the app's Home tab."""
    return sr.event_body({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home",
                          "event_ts": f"{time.time():.6f}"})


@dataclass(frozen=True)
class BotLink:
    """Where the bot listens and the secret it checks."""

    events_url: str
    secret: str

    def send(self, body: bytes, timeout: float = 10.0) -> tuple[int, str]:
        """Sign and POST; (status, body). A 4xx/5xx is returned, a refused connection is (0, why)."""
        req = urllib.request.Request(self.events_url, data=body, headers=sr.sign(body, self.secret), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return int(resp.status), resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            with err:
                return int(err.code), err.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as err:
            return 0, str(err)
