"""Slack Web API outbound: the only modules that import ``slack_sdk``'s client are this and ``slack_outbound``.

``SlackCards`` is what services use: every call goes through one ``Outbound`` (pacing, coalescing,
429 Retry-After, retries). A new message waits for its turn and returns its ``ts`` (a card's ts
must be stored); updates of a card and Home tab views are coalesced and sent in the background.
A Slack failure never breaks a job's flow.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters.slack.outbound import Outbound
from bot.adapters.slack.tasks import UNSURE
from bot.domain import messages as msg
from bot.domain.cards import Posted
from bot.domain.errors import PermanentBackendError, TransientBackendError
from bot.domain.message import Message as Reply

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
POST_TIMEOUT_S = 120.0  # a new card waits behind at most this much of its channel's backlog
HISTORY_SCAN = 1000  # messages looked through for a card that may have been posted (newest first)


def make_client(token: str | None, base_url: str | None) -> WebClient:
    url = base_url or DEFAULT_API_URL
    if not url.endswith("/"):
        url += "/"
    # No retry handlers: Outbound owns retries, so no call sleeps inside the client past its turn.
    return WebClient(token=token, base_url=url, timeout=10, retry_handlers=[])


def bot_identity(token: str | None, base_url: str | None) -> tuple[str, str]:
    """``auth.test``: (bot user name, workspace name) of the token, or why Slack refused it.

    Refused: ``PermanentBackendError``; Slack unreachable: ``TransientBackendError``."""
    client = make_client(token, base_url)
    try:
        resp = client.auth_test()
    except SlackApiError as err:
        raise PermanentBackendError("slack", msg.token_refused(str(err.response.get("error", "unknown")))) from None
    except OSError as err:  # urllib's URLError, refused connections, timeouts
        reason = getattr(err, "reason", None) or err.strerror or type(err).__name__
        raise TransientBackendError("slack", msg.slack_unreachable(client.base_url, str(reason))) from None
    return str(resp.get("user", "?")), str(resp.get("team", "?"))


class SlackCards:
    def __init__(self, client: WebClient, outbound: Outbound | None = None) -> None:
        self.client = client
        self.outbound = outbound or Outbound(client)

    def post(self, channel: str, reply: Reply, thread_ts: str | None = None) -> str | None:
        """Post a message at the channel's next turn; its ``ts`` or None when Slack refused it."""
        extra = {"thread_ts": thread_ts} if thread_ts else {}
        resp = self.outbound.call("chat_postMessage", channel, paced=True, timeout=POST_TIMEOUT_S,
                                  channel=channel, text=reply.text, blocks=reply.blocks_json(), **extra)
        ts = (resp or {}).get("ts")
        return str(ts) if ts else None

    def post_card(self, channel: str, reply: Reply, metadata: dict[str, Any], keepalive: Callable[[], bool],
                  every_s: float = 3.0) -> Posted:
        """Post a job's card with its ``metadata`` (found again by ``find_card``), waiting for its turn.

        ``keepalive`` is called every ``every_s`` while the post waits (the caller renews its claim);
        a 5xx or a broken connection is not retried blindly: the outcome is ``unsure``."""
        fut = self.outbound.submit("chat_postMessage", channel, paced=True, retry_unsure=False, channel=channel,
                                   text=reply.text, blocks=reply.blocks_json(), metadata=metadata)
        while True:
            try:
                resp = fut.result(every_s)
                break
            except FutureTimeout:
                keepalive()
        if resp == UNSURE:
            return Posted(None, unsure=True)
        ts = (resp or {}).get("ts")
        return Posted(str(ts) if ts else None)

    def find_card(self, channel: str, metadata: dict[str, Any]) -> str | None:
        """The ts of a top-level message in ``channel`` whose metadata is ``metadata``, or None."""
        cursor: str | None = None
        seen = 0
        while seen < HISTORY_SCAN:
            try:
                resp = self.client.conversations_history(channel=channel, include_all_metadata=True, limit=200,
                                                         cursor=cursor)
            except SlackApiError as err:
                if err.response.status_code == 429 or err.response.status_code >= 500:
                    raise TransientBackendError(
                        "slack", f"Slack conversations.history: {err.response.get('error')}") from err
                log.warning("cannot read %s's history (%s): the card is posted", channel, err.response.get("error"))
                return None
            except OSError as err:
                raise TransientBackendError("slack", f"Slack conversations.history: {type(err).__name__}") from err
            messages = resp.get("messages") or []
            for m in messages:
                if _same_metadata(m.get("metadata"), metadata):
                    return str(m["ts"])
            seen += len(messages)
            cursor = (resp.get("response_metadata") or {}).get("next_cursor") or None
            if not resp.get("has_more") or not cursor:
                return None
        return None

    def update(self, channel: str, ts: str, reply: Reply, origin: float | None = None,
               on_done: Callable[[], None] | None = None) -> bool:
        """Queue the card's new content; only the newest content of a card is sent. ``on_done``: called
        once Slack has it (or refused it for good)."""
        self.outbound.coalesce("chat_update", channel, ("update", channel, ts), origin, on_done,
                               channel=channel, ts=ts, text=reply.text, blocks=reply.blocks_json())
        return True

    def reply_in_thread(self, channel: str, thread_ts: str, reply: Reply, *, newest_only: bool = False) -> None:
        """A reply in a card's thread; ``newest_only``: a not-yet-sent reply of the same thread gives way."""
        key = ("thread", channel, thread_ts) if newest_only else None
        self.outbound.send("chat_postMessage", channel, paced=True, supersedes=key, channel=channel,
                           thread_ts=thread_ts, text=reply.text, blocks=reply.blocks_json())

    def dm(self, user: str, reply: Reply) -> None:
        """A direct message: posting to a user ID lands in the app's DM with them."""
        self.outbound.send("chat_postMessage", f"dm:{user}", paced=True, channel=user, text=reply.text,
                           blocks=reply.blocks_json())

    def ephemeral(self, channel: str, user: str, reply: Reply) -> None:
        self.outbound.send("chat_postEphemeral", channel, paced=False, channel=channel, user=user,
                           text=reply.text, blocks=reply.blocks_json())

    def upload(self, channel: str, filename: str, content: str, title: str, comment: str | None = None) -> bool:
        """Share a text file in ``channel`` (a user ID: their DM), waiting for it; False when it failed."""
        extra = {"initial_comment": comment} if comment else {}
        resp = self.outbound.call("files_upload_v2", channel, paced=True, timeout=POST_TIMEOUT_S,
                                  channel=channel, filename=filename, content=content, title=title, **extra)
        return resp is not None

    def dm_channel(self, user: str) -> str | None:
        """The ID of the app's DM with ``user`` (files need a conversation ID, not a user ID)."""
        resp = self.outbound.call("conversations_open", f"dm:{user}", paced=False, timeout=30.0, users=user)
        channel = ((resp or {}).get("channel") or {}).get("id")
        return str(channel) if channel else None

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> bool:
        """A modal, now: a trigger_id lives 3 seconds, so this call does not wait for a lane's turn."""
        try:
            self.client.views_open(trigger_id=trigger_id, view=view)
        except (SlackApiError, OSError) as err:
            log.warning("Slack views.open failed: %s", type(err).__name__)
            return False
        return True

    def publish_view(self, user: str, view: dict[str, Any]) -> None:
        """The user's Home tab; only the newest view of a user is sent."""
        self.outbound.coalesce("views_publish", f"view:{user}", ("view", user), user_id=user, view=view)

    def call(self, method: str, lane: str, *, paced: bool, timeout: float | None = None,
             **kwargs: Any) -> dict[str, Any] | None:
        """Any Web API method through the same lane discipline; None when Slack did not take it."""
        return self.outbound.call(method, lane, paced=paced, timeout=timeout, **kwargs)

    def flush(self, timeout: float = 10.0) -> bool:
        return self.outbound.flush(timeout)

    def close(self, timeout: float = 10.0) -> None:
        self.outbound.close(timeout)


def _same_metadata(found: Any, wanted: dict[str, Any]) -> bool:
    """Slack may add keys to what it stores; ours must all be there with our values."""
    if not isinstance(found, dict) or found.get("event_type") != wanted.get("event_type"):
        return False
    payload = found.get("event_payload") or {}
    return isinstance(payload, dict) and all(payload.get(k) == v for k, v in wanted["event_payload"].items())
