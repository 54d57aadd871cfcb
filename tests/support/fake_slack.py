"""A local fake of the Slack Web API, good enough for the real ``slack_sdk.WebClient`` and bolt.

Usage::

    with FakeSlack() as fake:
        client = WebClient(token="xoxb-test", base_url=fake.url)
        ...
        call = fake.wait_for("chat.postMessage")

It records every call (including the ones it failed on purpose), keeps the messages it was sent so
that ``chat.update`` on an unknown ``ts`` fails as Slack does, serves ``files_upload_v2``'s upload
URL and the ``response_url`` that bolt's ``respond()`` posts to, and can answer 429 / 5xx on demand.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from bot.console.web_api import history_page, message_metadata, parse_web_api_args

BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
TEAM_ID = "T0001"
RESPONSE_URL = "response_url"  # the method name recorded for posts to a response_url

# Form-encoded calls carry these as JSON strings; decoded so tests compare structures, not text.


@dataclass(frozen=True)
class Call:
    method: str
    args: dict[str, Any]
    time: float  # time.monotonic() when the request arrived
    headers: dict[str, str]
    status: int = 200  # what the fake answered (429/5xx when a failure was injected)


@dataclass
class _Failure:
    remaining: int
    status: int
    retry_after: int | None
    method: str | None
    channel: str | None

    def matches(self, method: str, args: dict[str, Any]) -> bool:
        return (self.method is None or self.method == method) and (
            self.channel is None or args.get("channel", args.get("channel_id")) == self.channel
        )


@dataclass
class _Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlack:
    """The fake server; a context manager that serves on 127.0.0.1 at a free port."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._calls: list[Call] = []
        self._failures: list[_Failure] = []
        self._throttle: tuple[int, str, int] | None = None  # (every n-th call, method prefix, Retry-After)
        self._throttle_seen = 0
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) → current message
        self.uploads: dict[str, bytes] = {}  # file id → uploaded content
        self.users: dict[str, dict[str, Any]] = {}  # user id → users.info "user" overrides
        # As on Slack: a token that is not a bot/user token is ``invalid_auth``; a revoked one ``token_revoked``.
        self.revoked: set[str] = set()
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for it, and tests start and stop many fakes.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="fake-slack", daemon=True
        )

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The Web API base URL (``WebClient(base_url=...)``, ``SLACK_API_URL``)."""
        return f"{self.base}/api/"

    def response_url(self, name: str = "1") -> str:
        """A ``response_url`` served by this fake, to put in slash command / interaction payloads."""
        return f"{self.base}/response_url/{name}"

    def start(self) -> FakeSlack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- test controls --------------------------------------------------------------------------

    def fail_next(
        self,
        k: int = 1,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        method: str | None = None,
        channel: str | None = None,
    ) -> None:
        """Answer the next ``k`` matching calls with ``status`` (429 carries ``Retry-After``)."""
        with self._cond:
            after = retry_after if status == 429 else None
            self._failures.append(_Failure(k, status, after, method, channel))

    def throttle(self, every: int, *, prefix: str = "chat.", retry_after: int = 1) -> None:
        """Answer every ``every``-th call whose method starts with ``prefix`` with 429 (0: stop)."""
        with self._cond:
            self._throttle = (every, prefix, retry_after) if every > 0 else None
            self._throttle_seen = 0

    def clear(self) -> None:
        """Forget recorded calls, pending failures, messages and uploads."""
        with self._cond:
            self._calls.clear()
            self._failures.clear()
            self.messages.clear()
            self.uploads.clear()

    def calls(self, method: str | None = None, *, status: int | None = None) -> list[Call]:
        with self._cond:
            return [
                c for c in self._calls
                if (method is None or c.method == method) and (status is None or c.status == status)
            ]

    def wait_until(self, condition: Callable[[list[Call]], bool], timeout: float = 5.0) -> list[Call]:
        """Block until ``condition(all calls)`` holds; return the calls. Raises ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not condition(list(self._calls)):
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = ", ".join(f"{c.method}:{c.status}" for c in self._calls) or "none"
                    raise TimeoutError(f"condition not met within {timeout}s; calls seen: {seen}")
                self._cond.wait(left)
            return list(self._calls)

    def wait_for(self, predicate: Callable[[Call], bool] | str, timeout: float = 5.0) -> Call:
        """The first recorded call matching ``predicate`` (or with that method name), waiting for it."""
        match: Callable[[Call], bool] = (
            (lambda c: c.method == predicate) if isinstance(predicate, str) else predicate
        )
        calls = self.wait_until(lambda cs: any(match(c) for c in cs), timeout)
        return next(c for c in calls if match(c))

    # --- request handling (called from server threads) ------------------------------------------

    def _record(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> _Reply:
        with self._cond:
            reply = self._injected(method, args) or self._answer(method, args, headers)
            self._calls.append(Call(method, args, time.monotonic(), headers, reply.status))
            self._cond.notify_all()
            return reply

    def _injected(self, method: str, args: dict[str, Any]) -> _Reply | None:
        if self._throttle is not None and method.startswith(self._throttle[1]):
            self._throttle_seen += 1
            if self._throttle_seen % self._throttle[0] == 0:
                return _Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(self._throttle[2])})
        for f in self._failures:
            if f.remaining > 0 and f.matches(method, args):
                f.remaining -= 1
                if f.status == 429:
                    hdrs = {"Retry-After": str(f.retry_after)} if f.retry_after is not None else {}
                    return _Reply(429, {"ok": False, "error": "ratelimited"}, hdrs)
                return _Reply(f.status, {"ok": False, "error": "fatal_error"})
        return None

    def _next_ts(self) -> str:
        n = next(self._ts) * 100
        return f"{1700000000 + n // 1_000_000}.{n % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):07d}"

    def _answer(self, method: str, args: dict[str, Any], headers: dict[str, str]) -> _Reply:
        if method == RESPONSE_URL or method.startswith("upload/"):  # no token on these, as on Slack
            return _Reply(200, {"ok": True})
        token = headers.get("Authorization", "").removeprefix("Bearer ").strip() or str(args.get("token") or "")
        if not token:
            return _Reply(200, {"ok": False, "error": "not_authed"})
        if token in self.revoked:
            return _Reply(200, {"ok": False, "error": "token_revoked"})
        if not token.startswith(("xoxb-", "xoxp-")):
            return _Reply(200, {"ok": False, "error": "invalid_auth"})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return _Reply(404, {"ok": False, "error": "unknown_method", "req_method": method})
        body: dict[str, Any] = handler(args)
        return _Reply(200, body)

    def _channel(self, args: dict[str, Any]) -> str | None:
        ch = args.get("channel") or args.get("channel_id")
        # Posting to a user ID lands in the DM with that user, as on Slack.
        return None if not ch else (f"D{ch}" if str(ch)[:1] in "UW" else str(ch))

    # One method per Slack API method: _m_<method with '.' → '_'>.
    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "chatops",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not (args.get("text") or args.get("blocks") or args.get("attachments")):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        message = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts,
                   "text": args.get("text", ""), "blocks": args.get("blocks", [])}
        if args.get("thread_ts"):
            message["thread_ts"] = args["thread_ts"]
        meta = message_metadata(args)
        if meta is not None:
            message["metadata"] = meta
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = self._channel(args), str(args.get("ts", ""))
        if channel is None or (channel, ts) not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        msg = self.messages[(channel, ts)]
        msg.update({k: args[k] for k in ("text", "blocks", "attachments") if k in args})
        meta = message_metadata(args)
        if meta is not None:
            msg["metadata"] = meta
        return {"ok": True, "channel": channel, "ts": ts, "text": msg.get("text", ""), "message": msg}

    def _m_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = self._channel(args), str(args.get("ts", ""))
        if channel is None or self.messages.pop((channel, ts), None) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": channel, "ts": ts}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        if self._channel(args) is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return history_page(channel, self.messages, args)

    def _m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", "")).split(",")
        if not users[0]:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": f"D{users[0]}"}}

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._view(args, "user_id")

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._view(args, "trigger_id")

    def _view(self, args: dict[str, Any], required: str) -> dict[str, Any]:
        if not args.get(required) or not isinstance(args.get("view"), dict):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "view": {**args["view"], "id": self._next_id("V")}}

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        uid = str(args.get("user", ""))
        if not uid:
            return {"ok": False, "error": "user_not_found"}
        user = {"id": uid, "team_id": TEAM_ID, "name": uid.lower(), "real_name": f"User {uid}",
                "is_bot": False, "tz": "UTC",
                "profile": {"display_name": uid.lower(), "real_name": f"User {uid}"}}
        return {"ok": True, "user": {**user, **self.users.get(uid, {})}}

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not args.get("length"):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = self._next_id("F")
        return {"ok": True, "file_id": file_id, "upload_url": f"{self.base}/upload/v1/{file_id}"}

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        if any(f.get("id") not in self.uploads for f in files):
            return {"ok": False, "error": "file_not_found"}
        out = [{"id": f["id"], "title": f.get("title"), "name": f.get("title"),
                "size": len(self.uploads[f["id"]])} for f in files]
        return {"ok": True, "files": out}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a bot SIGKILLed mid-call, a closed pool) is normal here, not a failure.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items()}
            path = parts.path
            if path.startswith("/api/"):
                method = path.removeprefix("/api/")
                args = parse_web_api_args(parts.query, body, self.headers.get("Content-Type", ""))
            elif path.startswith("/response_url/"):
                method = RESPONSE_URL
                args = parse_web_api_args("", body, "application/json")
                args["_id"] = path.removeprefix("/response_url/")
            elif path.startswith("/upload/v1/"):
                method = "upload/v1"
                file_id = path.removeprefix("/upload/v1/")
                args = {"file_id": file_id, "length": len(body)}
            else:
                self._send(_Reply(404, {"ok": False, "error": "not_found"}))
                return
            reply = fake._record(method, args, headers)
            if method == "upload/v1" and reply.status == 200:
                with fake._cond:
                    fake.uploads[args["file_id"]] = body
            self._send(reply)

        def _send(self, reply: _Reply) -> None:
            data = json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for k, v in reply.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        do_POST = _serve
        do_GET = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

    return Handler
