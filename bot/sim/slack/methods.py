"""The Slack Web API methods the bot calls, answered as Slack answers them, over one workspace's state.

One method per Slack method (``_m_<method with '.' → '_'>``). Each returns the JSON answer and, when
the call shows something to a person, a :class:`Posted` (the console prints those as they come).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from bot.sim.slack.shapes import history_page, message_metadata
from bot.sim.slack.usergroups import UserGroups

BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM_ID = "T0001"


@dataclass(frozen=True)
class Posted:
    """One thing the bot showed: a message, an update, an ephemeral, a response_url answer, a file."""

    kind: str  # post | update | delete | ephemeral | response | file | home
    channel: str | None = None
    ts: str | None = None
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    user: str | None = None  # who an ephemeral (or a response_url answer, "you") is for
    thread_ts: str | None = None
    response_id: str | None = None  # which response_url was posted to
    replace_original: bool = False
    content: bytes = b""  # a file's bytes


Answer = tuple[dict[str, Any], Posted | None]


def _blocks(args: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = args.get("blocks")
    return [b for b in blocks if isinstance(b, dict)] if isinstance(blocks, list) else []


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def response_posted(rid: str, body: dict[str, Any]) -> Posted:
    """A post to a response_url: the answer to a slash command or a click."""
    return Posted("response", text=str(body.get("text", "")), blocks=_blocks(body), response_id=rid,
                  replace_original=_truthy(body.get("replace_original")),
                  user=None if body.get("response_type") == "in_channel" else "you")


class SlackMethods(UserGroups):
    """The workspace's state (messages, uploads, users) and the methods over it. Not thread-safe: the
    server calls these under its lock."""

    base: str  # the server's base URL (upload URLs point at it)

    def __init__(self) -> None:
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) → current message
        self.uploads: dict[str, bytes] = {}  # file id → uploaded content
        self._upload_names: dict[str, str] = {}  # file id → file name
        self.users: dict[str, dict[str, Any]] = {}  # user id → users.info "user" overrides
        self.usergroups = {}

    def method(self, name: str) -> Any:
        return getattr(self, "_m_" + name.replace(".", "_"), None)

    def _next_ts(self) -> str:
        n = next(self._ts) * 100
        return f"{1700000000 + n // 1_000_000}.{n % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):07d}"

    @staticmethod
    def _channel(args: dict[str, Any]) -> str | None:
        ch = args.get("channel") or args.get("channel_id")
        # Posting to a user ID lands in the DM with that user, as on Slack.
        return None if not ch else (f"D{ch}" if str(ch)[:1] in "UW" else str(ch))

    def _m_auth_test(self, args: dict[str, Any]) -> Answer:
        return {"ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "chatops",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}, None

    def _m_chat_postMessage(self, args: dict[str, Any]) -> Answer:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}, None
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return {"ok": False, "error": "no_text"}, None
        ts = self._next_ts()
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts,
                   "text": args.get("text", ""), "blocks": args.get("blocks", [])}
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        meta = message_metadata(args)
        if meta is not None:
            message["metadata"] = meta
        self.messages[(channel, ts)] = message
        thread = str(args["thread_ts"]) if args.get("thread_ts") else None
        shown = Posted("post", channel, ts, str(message["text"]), _blocks(args), thread_ts=thread)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}, shown

    def _m_chat_update(self, args: dict[str, Any]) -> Answer:
        channel, ts = self._channel(args), str(args.get("ts", ""))
        if channel is None or (channel, ts) not in self.messages:
            return {"ok": False, "error": "message_not_found"}, None
        msg = self.messages[(channel, ts)]
        msg.update({k: args[k] for k in ("text", "blocks", "attachments") if k in args})
        meta = message_metadata(args)
        if meta is not None:
            msg["metadata"] = meta
        shown = Posted("update", channel, ts, str(msg.get("text", "")), _blocks(msg))
        return {"ok": True, "channel": channel, "ts": ts, "text": msg.get("text", ""), "message": msg}, shown

    def _m_chat_delete(self, args: dict[str, Any]) -> Answer:
        channel, ts = self._channel(args), str(args.get("ts", ""))
        if channel is None or self.messages.pop((channel, ts), None) is None:
            return {"ok": False, "error": "message_not_found"}, None
        return {"ok": True, "channel": channel, "ts": ts}, Posted("delete", channel, ts)

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> Answer:
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}, None
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}, None
        shown = Posted("ephemeral", channel, None, str(args.get("text", "")), _blocks(args), user=str(args["user"]))
        return {"ok": True, "message_ts": self._next_ts()}, shown

    def _m_conversations_history(self, args: dict[str, Any]) -> Answer:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}, None
        return history_page(channel, self.messages, args), None

    def _m_conversations_open(self, args: dict[str, Any]) -> Answer:
        users = str(args.get("users", "")).split(",")
        if not users[0]:
            return {"ok": False, "error": "users_list_not_supplied"}, None
        return {"ok": True, "channel": {"id": f"D{users[0]}"}}, None

    def _m_views_publish(self, args: dict[str, Any]) -> Answer:
        answer = self._view(args, "user_id")
        if not answer["ok"]:
            return answer, None
        return answer, Posted("home", blocks=list(args["view"].get("blocks") or []), user=str(args["user_id"]))

    def _m_views_open(self, args: dict[str, Any]) -> Answer:
        return self._view(args, "trigger_id"), None

    def _view(self, args: dict[str, Any], required: str) -> dict[str, Any]:
        if not args.get(required) or not isinstance(args.get("view"), dict):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "view": {**args["view"], "id": self._next_id("V")}}

    def _m_users_info(self, args: dict[str, Any]) -> Answer:
        uid = str(args.get("user", ""))
        if not uid:
            return {"ok": False, "error": "user_not_found"}, None
        user = {"id": uid, "team_id": TEAM_ID, "name": uid.lower(), "real_name": f"User {uid}",
                "is_bot": False, "tz": "UTC",
                "profile": {"display_name": uid.lower(), "real_name": f"User {uid}"}}
        return {"ok": True, "user": {**user, **self.users.get(uid, {})}}, None

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> Answer:
        if not args.get("filename") or not args.get("length"):
            return {"ok": False, "error": "invalid_arguments"}, None
        file_id = self._next_id("F")
        self._upload_names[file_id] = str(args["filename"])
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base}/upload/v1/{file_id}"}, None

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> Answer:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}, None
        if any(f.get("id") not in self.uploads for f in files):
            return {"ok": False, "error": "file_not_found"}, None
        out = [{"id": f["id"], "title": f.get("title"), "name": f.get("title"),
                "size": len(self.uploads[f["id"]])} for f in files]
        first = str(files[0]["id"])
        title = str(files[0].get("title") or self._upload_names.get(first, first))
        shown = Posted("file", self._channel(args), text=f"{title}\n{args.get('initial_comment') or ''}".strip(),
                       thread_ts=str(args["thread_ts"]) if args.get("thread_ts") else None,
                       content=self.uploads[first])
        return {"ok": True, "files": out}, shown
