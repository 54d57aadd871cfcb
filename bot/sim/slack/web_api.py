"""A local Slack Web API for the real ``slack_sdk.WebClient`` and bolt: the bot's ``SLACK_API_URL``
points here, in the console (``chatops console``/``demo``) and in the tests alike.

Usage::

    with FakeSlack() as fake:
        client = WebClient(token="xoxb-test", base_url=fake.url)
        ...
        call = fake.wait_for("chat.postMessage")

It records every call (including the ones it failed on purpose), keeps the messages it was sent so
that ``chat.update`` on an unknown ``ts`` fails as Slack does, serves ``files_upload_v2``'s upload
URL and the ``response_url`` that bolt's ``respond()`` posts to, can answer 429 / 5xx on demand, and
hands what the bot shows to a ``sink`` (the console prints it as it comes). Loopback only.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from bot.sim.slack.methods import BOT_ID, BOT_USER_ID, TEAM_ID, Posted, SlackMethods, response_posted
from bot.sim.slack.shapes import parse_web_api_args

__all__ = ["BOT_ID", "BOT_USER_ID", "RESPONSE_URL", "TEAM_ID", "Call", "FakeSlack", "Posted", "Sink"]

log = logging.getLogger(__name__)

RESPONSE_URL = "response_url"  # the method name recorded for posts to a response_url
MAX_BODY = 8 << 20  # log uploads are the largest thing the bot sends

Sink = Callable[[Posted], None]


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


class FakeSlack(SlackMethods):
    """The fake server; a context manager that serves on 127.0.0.1 at a free port."""

    def __init__(self, sink: Sink | None = None) -> None:
        super().__init__()
        self.sink = sink
        self._cond = threading.Condition()
        self._calls: list[Call] = []
        self._failures: list[_Failure] = []
        self._throttle: tuple[int, str, int] | None = None  # (every n-th call, method prefix, Retry-After)
        self._throttle_seen = 0
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
    def base(self) -> str:  # type: ignore[override]  # a property over SlackMethods' plain attribute
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

    # --- controls and reads ---------------------------------------------------------------------

    def fail_next(self, k: int = 1, *, status: int = 429, retry_after: int | None = 1, method: str | None = None,
                  channel: str | None = None) -> None:
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

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """A copy of the message as Slack holds it now, or None."""
        with self._cond:
            found = self.messages.get((channel, ts))
            return dict(found) if found else None

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

    def handle(self, method: str, args: dict[str, Any], headers: dict[str, str], body: bytes = b"") -> _Reply:
        with self._cond:
            reply, shown = self._injected(method, args) or self._answer(method, args, headers, body)
            self._calls.append(Call(method, args, time.monotonic(), headers, reply.status))
            self._cond.notify_all()
        if shown is not None and self.sink is not None:
            try:
                self.sink(shown)
            except Exception:  # a boundary: a console rendering bug must not become a Slack error the bot retries
                log.exception("the sink could not show a %s", shown.kind)
        return reply

    def _injected(self, method: str, args: dict[str, Any]) -> tuple[_Reply, None] | None:
        if self._throttle is not None and method.startswith(self._throttle[1]):
            self._throttle_seen += 1
            if self._throttle_seen % self._throttle[0] == 0:
                hdrs = {"Retry-After": str(self._throttle[2])}
                return _Reply(429, {"ok": False, "error": "ratelimited"}, hdrs), None
        for f in self._failures:
            if f.remaining > 0 and f.matches(method, args):
                f.remaining -= 1
                if f.status == 429:
                    hdrs = {"Retry-After": str(f.retry_after)} if f.retry_after is not None else {}
                    return _Reply(429, {"ok": False, "error": "ratelimited"}, hdrs), None
                return _Reply(f.status, {"ok": False, "error": "fatal_error"}), None
        return None

    def _answer(self, method: str, args: dict[str, Any], headers: dict[str, str],
                body: bytes) -> tuple[_Reply, Posted | None]:
        if method == RESPONSE_URL:  # no token on these, as on Slack
            return _Reply(200, {"ok": True}), response_posted(str(args.get("_id", "")), args)
        if method == "upload/v1":
            self.uploads[str(args["file_id"])] = body
            return _Reply(200, {"ok": True}), None
        token = headers.get("Authorization", "").removeprefix("Bearer ").strip() or str(args.get("token") or "")
        if not token:
            return _Reply(200, {"ok": False, "error": "not_authed"}), None
        if token in self.revoked:
            return _Reply(200, {"ok": False, "error": "token_revoked"}), None
        if not token.startswith(("xoxb-", "xoxp-")):
            return _Reply(200, {"ok": False, "error": "invalid_auth"}), None
        handler = self.method(method)
        if handler is None:
            log.warning("the fake Slack Web API does not implement %s", method)
            return _Reply(404, {"ok": False, "error": "unknown_method", "req_method": method}), None
        answer, shown = handler(args)
        return _Reply(200, answer), shown


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a bot SIGKILLed mid-call, a closed pool) is normal here, not a failure.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("fake Slack: a request from %s failed", client_address, exc_info=True)


def _handler_for(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                self._send(_Reply(413, {"ok": False, "error": "request_too_large"}))
                return
            parts = urlsplit(self.path)
            body = self.rfile.read(length)
            headers = {k: v for k, v in self.headers.items()}
            path = parts.path
            try:
                if path.startswith("/api/"):
                    method = path.removeprefix("/api/")
                    args = parse_web_api_args(parts.query, body, self.headers.get("Content-Type", ""))
                elif path.startswith("/response_url/"):
                    method = RESPONSE_URL
                    args = parse_web_api_args("", body, "application/json")
                    args["_id"] = path.removeprefix("/response_url/")
                elif path.startswith("/upload/v1/"):
                    method = "upload/v1"
                    args = {"file_id": path.removeprefix("/upload/v1/"), "length": len(body)}
                else:
                    self._send(_Reply(404, {"ok": False, "error": "not_found"}))
                    return
            except ValueError:  # undecodable JSON: answer as Slack does, not with a stack trace
                self._send(_Reply(400, {"ok": False, "error": "invalid_json"}))
                return
            self._send(fake.handle(method, args, headers, body))

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

        def log_message(self, format: str, *args: Any) -> None:  # quiet output
            log.debug("fake Slack %s", format % args)

    return Handler
