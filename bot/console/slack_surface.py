"""A local Slack Web API for the console: the bot's ``SLACK_API_URL`` points here.

It answers the methods the bot calls as Slack would (enough for ``slack_sdk``'s ``WebClient``
and bolt), keeps the messages so ``chat.update`` of an unknown ``ts`` fails as on Slack, and
hands every message the bot sends to a ``sink`` (the console) so it appears as it happens.
It also serves the ``response_url`` that bolt's ``respond()`` posts to. Loopback only.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from bot.console.web_api import history_page, message_metadata, parse_web_api_args

log = logging.getLogger(__name__)

BOT_USER_ID = "UCHATOPSBOT"
BOT_ID = "BCHATOPSBOT"
TEAM_ID = "TCONSOLE01"
MAX_BODY = 8 << 20  # log uploads are the largest thing the bot sends


@dataclass(frozen=True)
class Posted:
    """One thing the bot showed: a message, an update, an ephemeral, a response_url answer, a file."""

    kind: str  # post | update | delete | ephemeral | response | file | home
    channel: str | None = None
    ts: str | None = None
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    user: str | None = None  # who an ephemeral is for
    thread_ts: str | None = None
    response_id: str | None = None  # which response_url was posted to
    replace_original: bool = False
    content: bytes = b""  # a file's bytes


Sink = Callable[[Posted], None]
Result = tuple[dict[str, Any], Posted | None]  # the API answer, and what to show (None: nothing)


class SlackSurface:
    """The Web API surface on 127.0.0.1 at a free port; a context manager."""

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) → the current message
        self._uploads: dict[str, tuple[str, bytes]] = {}  # file id → (filename, bytes)
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="slack-surface")

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The Web API base URL, for ``SLACK_API_URL``."""
        return f"{self.base}/api/"

    def response_url(self, rid: str) -> str:
        return f"{self.base}/response_url/{rid}"

    def start(self) -> SlackSurface:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()

    def __enter__(self) -> SlackSurface:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.messages.get((channel, ts))
            return dict(found) if found else None

    # --- the Web API (called from server threads) ------------------------------------------------

    def call(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            log.warning("the console's Slack surface does not implement %s", method)
            return {"ok": False, "error": "unknown_method"}
        with self._lock:
            answer: dict[str, Any]
            answer, shown = handler(args)
        if shown is not None:
            self._show(shown)
        return answer

    def respond(self, rid: str, body: dict[str, Any]) -> None:
        """A post to a response_url: the answer to a slash command or a click."""
        self._show(Posted("response", text=str(body.get("text", "")), blocks=_blocks(body), response_id=rid,
                          replace_original=_truthy(body.get("replace_original")),
                          user=None if body.get("response_type") == "in_channel" else "you"))

    def upload(self, file_id: str, body: bytes) -> bool:
        with self._lock:
            if file_id not in self._uploads:
                return False
            self._uploads[file_id] = (self._uploads[file_id][0], body)
            return True

    def _show(self, posted: Posted) -> None:
        try:
            self.sink(posted)
        except Exception:  # a rendering bug must not turn into a Slack error the bot retries
            log.exception("the console could not show a %s", posted.kind)

    def _next_ts(self) -> str:
        return f"{time.time():.0f}.{next(self._ts):06d}"

    @staticmethod
    def _channel(args: dict[str, Any]) -> str | None:
        ch = str(args.get("channel") or args.get("channel_id") or "")
        # Posting to a user ID lands in the DM with that user, as on Slack.
        return None if not ch else (f"D{ch}" if ch[:1] in "UW" else ch)

    def _m_auth_test(self, args: dict[str, Any]) -> Result:
        return {"ok": True, "url": "http://console.local/", "team": "console", "user": "chatops",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}, None

    def _m_chat_postMessage(self, args: dict[str, Any]) -> Result:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}, None
        if not (args.get("text") or args.get("blocks")):
            return {"ok": False, "error": "no_text"}, None
        ts, text, blocks = self._next_ts(), str(args.get("text", "")), _blocks(args)
        message: dict[str, Any] = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts,
                                   "text": text, "blocks": blocks}
        thread = str(args["thread_ts"]) if args.get("thread_ts") else None
        if thread:
            message["thread_ts"] = thread
        meta = message_metadata(args)
        if meta is not None:
            message["metadata"] = meta
        self.messages[(channel, ts)] = message
        shown = Posted("post", channel, ts, text, blocks, thread_ts=thread)
        return {"ok": True, "channel": channel, "ts": ts, "message": message}, shown

    def _m_chat_update(self, args: dict[str, Any]) -> Result:
        channel, ts = self._channel(args), str(args.get("ts", ""))
        if channel is None or (channel, ts) not in self.messages:
            return {"ok": False, "error": "message_not_found"}, None
        msg = self.messages[(channel, ts)]
        if "text" in args:
            msg["text"] = str(args["text"])
        if "blocks" in args:
            msg["blocks"] = _blocks(args)
        meta = message_metadata(args)
        if meta is not None:
            msg["metadata"] = meta
        shown = Posted("update", channel, ts, msg["text"], msg["blocks"])
        return {"ok": True, "channel": channel, "ts": ts, "text": msg["text"], "message": msg}, shown

    def _m_chat_delete(self, args: dict[str, Any]) -> Result:
        channel, ts = self._channel(args), str(args.get("ts", ""))
        if channel is None or self.messages.pop((channel, ts), None) is None:
            return {"ok": False, "error": "message_not_found"}, None
        return {"ok": True, "channel": channel, "ts": ts}, Posted("delete", channel, ts)

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> Result:
        channel, user = self._channel(args), str(args.get("user", ""))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}, None
        if not user:
            return {"ok": False, "error": "user_not_in_channel"}, None
        shown = Posted("ephemeral", channel, None, str(args.get("text", "")), _blocks(args), user=user)
        return {"ok": True, "message_ts": self._next_ts()}, shown

    def _m_conversations_history(self, args: dict[str, Any]) -> Result:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}, None
        return history_page(channel, self.messages, args), None

    def _m_conversations_open(self, args: dict[str, Any]) -> Result:
        users = str(args.get("users", "")).split(",")
        if not users[0]:
            return {"ok": False, "error": "users_list_not_supplied"}, None
        return {"ok": True, "channel": {"id": f"D{users[0]}"}}, None

    def _m_users_info(self, args: dict[str, Any]) -> Result:
        uid = str(args.get("user", ""))
        if not uid:
            return {"ok": False, "error": "user_not_found"}, None
        profile = {"display_name": uid.lower(), "real_name": uid}
        return {"ok": True, "user": {"id": uid, "team_id": TEAM_ID, "name": uid.lower(), "real_name": uid,
                                     "is_bot": False, "tz": "UTC", "profile": profile}}, None

    def _m_views_publish(self, args: dict[str, Any]) -> Result:
        view = args.get("view")
        if not args.get("user_id") or not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}, None
        shown = Posted("home", blocks=list(view.get("blocks") or []), user=str(args["user_id"]))
        return {"ok": True, "view": {**view, "id": f"V{next(self._ids):07d}"}}, shown

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> Result:
        if not args.get("filename") or not args.get("length"):
            return {"ok": False, "error": "invalid_arguments"}, None
        file_id = f"F{next(self._ids):07d}"
        self._uploads[file_id] = (str(args["filename"]), b"")
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base}/upload/{file_id}"}, None

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> Result:
        files = args.get("files")
        if not isinstance(files, list) or not files or any(f.get("id") not in self._uploads for f in files):
            return {"ok": False, "error": "file_not_found"}, None
        name, content = self._uploads[str(files[0]["id"])]
        title = str(files[0].get("title") or name)
        shown = Posted("file", self._channel(args), text=f"{title}\n{args.get('initial_comment') or ''}".strip(),
                       thread_ts=str(args["thread_ts"]) if args.get("thread_ts") else None, content=content)
        out = [{"id": f["id"], "title": f.get("title"), "name": self._uploads[f["id"]][0]} for f in files]
        return {"ok": True, "files": out}, shown


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up (the bot stopping, a retry) is normal; a stack trace would land on the console.
        log.debug("slack surface: a request from %s failed", client_address, exc_info=True)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _blocks(args: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = args.get("blocks")
    return [b for b in blocks if isinstance(b, dict)] if isinstance(blocks, list) else []


def _handler_for(surface: SlackSurface) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(413, {"ok": False, "error": "request_too_large"})
                return
            parts = urlsplit(self.path)
            body = self.rfile.read(length)
            content_type = self.headers.get("Content-Type", "")
            try:
                if parts.path.startswith("/api/"):
                    args = parse_web_api_args(parts.query, body, content_type)
                    self._send(200, surface.call(parts.path.removeprefix("/api/"), args))
                elif parts.path.startswith("/response_url/"):
                    rid = parts.path.removeprefix("/response_url/")
                    surface.respond(rid, parse_web_api_args("", body, "application/json"))
                    self._send(200, {"ok": True})
                elif parts.path.startswith("/upload/"):
                    ok = surface.upload(parts.path.removeprefix("/upload/"), body)
                    self._send(200 if ok else 404, {"ok": ok})
                else:
                    self._send(404, {"ok": False, "error": "not_found"})
            except ValueError:  # undecodable JSON: answer as Slack does, not with a stack trace
                self._send(400, {"ok": False, "error": "invalid_json"})

        def _send(self, status: int, reply: dict[str, Any]) -> None:
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = _serve
        do_GET = _serve

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("slack surface %s", format % args)

    return Handler
