"""The Web API methods the outbound layer sends, spelled out: the app manifest's scopes are checked
against this list, and a method outside it is a bug, not a call."""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.web import SlackResponse


def invoke(c: WebClient, method: str, kw: dict[str, Any]) -> SlackResponse:
    match method:
        case "chat_postMessage":
            return c.chat_postMessage(**kw)
        case "chat_update":
            return c.chat_update(**kw)
        case "chat_postEphemeral":
            return c.chat_postEphemeral(**kw)
        case "views_publish":
            return c.views_publish(**kw)
        case "files_upload_v2":
            return c.files_upload_v2(**kw)
        case "conversations_open":
            return c.conversations_open(**kw)
    raise ValueError(f"the outbound layer does not send {method}")
