"""Slack Web API outbound: the only module that imports ``slack_sdk``'s client.

Every post and update of a card goes through ``SlackCards``; it retries 429s (honouring
Retry-After), connection errors and 5xx, and never lets a Slack failure break a job's flow.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.core.rendering import Reply

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"


def make_client(token: str | None, base_url: str | None) -> WebClient:
    url = base_url or DEFAULT_API_URL
    if not url.endswith("/"):
        url += "/"
    return WebClient(
        token=token,
        base_url=url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=5),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


class SlackCards:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post(self, channel: str, reply: Reply) -> str | None:
        """Post a message; its ``ts`` or None when Slack refused it."""
        try:
            resp = self.client.chat_postMessage(channel=channel, text=reply.text, blocks=reply.blocks_json())
        except SlackApiError as err:
            log.warning("chat.postMessage to %s failed: %s", channel, err.response.get("error"))
            return None
        ts = resp.get("ts")
        return str(ts) if ts else None

    def update(self, channel: str, ts: str, reply: Reply) -> bool:
        try:
            self.client.chat_update(channel=channel, ts=ts, text=reply.text, blocks=reply.blocks_json())
        except SlackApiError as err:
            log.warning("chat.update of %s/%s failed: %s", channel, ts, err.response.get("error"))
            return False
        return True

    def ephemeral(self, channel: str, user: str, reply: Reply) -> None:
        try:
            self.client.chat_postEphemeral(channel=channel, user=user, text=reply.text, blocks=reply.blocks_json())
        except SlackApiError as err:
            log.warning("chat.postEphemeral failed: %s", err.response.get("error"))
