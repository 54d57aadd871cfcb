"""The HTTP routes of DESIGN.md on waitress, embedded in the process: Slack events, alert webhooks,
health, readiness, metrics.

waitress reads requests on one event loop and runs the application on a fixed pool of threads, so an
idle or slow client costs a socket, not a thread; connections, header and body sizes and idle time are
capped (``HttpLimits``). A malformed request line or ``Content-Length`` (negative, not a number, over
the limit) is answered by waitress itself (400/413) and logged here in one line.

Slack requests pass the gate (``bot/http_slack.py``: signature on the raw body, shape, replays) and
then bolt's WSGI adapter, which acks before the listener's slower work continues in its own thread.
"""

from __future__ import annotations

import contextvars
import io
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask

from bot import metrics
from bot.http_slack import SlackGate

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger(__name__)

# POST /alerts/alertmanager: (Authorization header, body) → (status, text); set by the composition root
AlertRoute = Callable[[str | None, bytes], tuple[int, str]]
_TEXT = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class HttpLimits:
    threads: int = 16  # requests handled at once; bolt acks within them, the listener's work runs elsewhere
    connections: int = 1000  # open sockets, idle ones included; past it the server stops accepting for a while
    idle_timeout_s: int = 30  # a connection with no complete request for this long is closed
    header_bytes: int = 64 << 10
    slack_body_bytes: int = 1 << 20  # Slack's payloads are a few KB
    alert_body_bytes: int = 32 << 20  # Alertmanager sends every alert of a group: 10,000 alerts ≈ 1.5–5 MB
    backlog: int = 1024  # a webhook burst must not find the listen queue full


def _mb(n: int) -> str:
    return f"{n:,} bytes"


class _LoggedError(ErrorTask):
    """The answer waitress gives to a request it cannot parse or that is too large: logged in one line."""

    def execute(self) -> None:
        req: Any = self.request  # waitress's parser (its stubs type it as the error)
        err = req.error
        log.warning("refused %s %s from %s: %s %s (%s; Content-Length %s)", req.command or "-", req.path or "-",
                    self.channel.addr[0] if self.channel.addr else "?", err.code, err.reason, err.body,
                    req.headers.get("CONTENT_LENGTH", "none"))
        super().execute()


class _Channel(HTTPChannel):
    error_task_class = _LoggedError


class ChatopsHTTPServer:
    alerts: AlertRoute | None = None

    def __init__(self, host: str, port: int, app: App | None, ready: Callable[[], bool], *,
                 gate: SlackGate | None = None, limits: HttpLimits | None = None) -> None:
        self.limits = limits or HttpLimits()
        self.ready = ready
        self.gate = gate
        self._slack = SlackRequestHandler(app) if app is not None else None
        self._metrics = metrics.wsgi_app()
        self._inflight = 0
        self._lock = threading.Lock()
        lim = self.limits
        server = create_server(
            self, host=host, port=port, threads=lim.threads, connection_limit=lim.connections,
            channel_timeout=lim.idle_timeout_s, cleanup_interval=max(1, min(30, lim.idle_timeout_s // 2)),
            max_request_header_size=lim.header_bytes, backlog=lim.backlog, ident="gpu-chatops",
            # waitress refuses larger bodies before reading them; each route has its own, smaller limit
            max_request_body_size=max(lim.slack_body_bytes, lim.alert_body_bytes) + 1,
            asyncore_use_poll=True,  # select() cannot watch more than 1024 sockets
            expose_tracebacks=False, clear_untrusted_proxy_headers=True,
        )
        assert isinstance(server, BaseWSGIServer), "one listen address"
        server.channel_class = _Channel
        self._server: Any = server  # waitress's stubs lack the loop's map, trigger and effective port
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.run, name="http", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful: stop accepting, let requests already received finish and their answers go out, close."""
        server = self._server
        if self._thread is None or not self._thread.is_alive():
            wasyncore.close_all(server._map, ignore_all=True)  # bound, never served
            server.task_dispatcher.shutdown(timeout=1)
            return
        # The loop's sockets belong to its thread: closing is done there, between two polls.
        if self._in_loop(lambda: wasyncore.dispatcher.close(server)):  # the listening socket only
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self._busy():
                time.sleep(0.02)
            self._in_loop(lambda: wasyncore.close_all(server._map, ignore_all=True))  # the loop ends with its map
        self._thread.join(timeout=5)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)

    def _in_loop(self, thunk: Callable[[], None]) -> bool:
        try:
            self._server.trigger.pull_trigger(thunk)
            return True
        except OSError:  # the loop has closed its trigger: it is ending by itself
            log.warning("http: the server loop had already closed; stopping without waiting")
            return False

    def _busy(self) -> bool:
        if self._inflight or self._server.task_dispatcher.queue:
            return True
        channels = [c for c in list(self._server._map.copy().values()) if isinstance(c, HTTPChannel)]
        return any(c.requests or c.total_outbufs_len for c in channels)

    # --- the WSGI application ---------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        path = environ.get("PATH_INFO", "")
        with self._lock:
            self._inflight += 1
        try:
            return self._route(environ, start_response, environ.get("REQUEST_METHOD", "GET"), path)
        finally:
            with self._lock:
                self._inflight -= 1
            route = path if path in ("/slack/events", "/alerts/alertmanager") else "other"
            metrics.HTTP_LATENCY.labels(route).observe(time.perf_counter() - started)

    def _route(self, environ: WSGIEnvironment, start_response: StartResponse, method: str,
               path: str) -> Iterable[bytes]:
        if method == "GET" and path == "/healthz":
            return _answer(start_response, 200, b"ok\n")
        if method == "GET" and path == "/readyz":
            ok = self.ready()
            return _answer(start_response, 200 if ok else 503, b"ready\n" if ok else b"not ready\n")
        if method == "GET" and path == "/metrics":
            return self._metrics(environ, start_response)
        if method == "POST" and path == "/slack/events" and self._slack is not None:
            return self._slack_events(environ, start_response)
        if method == "POST" and path == "/alerts/alertmanager" and self.alerts is not None:
            return self._alertmanager(environ, start_response)
        return _answer(start_response, 404, b"not found\n")

    def _slack_events(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        assert self._slack is not None
        raw = _body(environ, self.limits.slack_body_bytes)
        if raw is None:
            return self._refuse(start_response, "slack", environ, 413,
                                f"body of {_mb(_length(environ))} is over the {_mb(self.limits.slack_body_bytes)} "
                                "limit", b"payload too large\n")
        if self.gate is not None:
            verdict = self.gate.check(_headers(environ), raw)
            if verdict.status is not None:
                return self._refuse(start_response, "slack", environ, verdict.status, verdict.reason, verdict.body,
                                    content_type="application/json" if verdict.body else _TEXT)
        environ["wsgi.input"] = io.BytesIO(raw)  # bolt reads the body again, as it was received
        environ["CONTENT_LENGTH"] = str(len(raw))
        status: list[str] = []

        def recording(code: str, headers: Any, exc_info: Any = None) -> Any:
            status.append(code)
            return start_response(code, headers, exc_info)

        try:
            # In a context of its own: the request id bolt's middleware sets ends with this request.
            out = contextvars.copy_context().run(self._slack, environ, recording)
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as err:
            # bolt could not read a request the gate let through: a shape the gate does not know yet
            return self._refuse(start_response, "slack", environ, 400,
                                f"bolt could not read it ({type(err).__name__})", b'{"error": "malformed request"}',
                                content_type="application/json")
        metrics.REQUESTS.labels("slack", status[0].split(" ", 1)[0] if status else "?").inc()
        return out

    def _alertmanager(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        assert self.alerts is not None
        limit = self.limits.alert_body_bytes
        raw = _body(environ, limit)
        if raw is None:
            return self._refuse(start_response, "alertmanager", environ, 413,
                                f"body of {_mb(_length(environ))} is over the {_mb(limit)} limit "
                                "(ALERT_WEBHOOK_MAX_BYTES)", b"payload too large: raise ALERT_WEBHOOK_MAX_BYTES\n")
        status, text = self.alerts(environ.get("HTTP_AUTHORIZATION"), raw)
        if status != 200:
            return self._refuse(start_response, "alertmanager", environ, status,
                                f"{_mb(len(raw))}: {text.strip()}", text.encode())
        metrics.REQUESTS.labels("alertmanager", "200").inc()
        return _answer(start_response, 200, text.encode())

    def _refuse(self, start_response: StartResponse, kind: str, environ: WSGIEnvironment, status: int, reason: str,
                body: bytes, content_type: str = _TEXT) -> Iterable[bytes]:
        """One log line per refused request: route, client address, status and why (never a secret)."""
        level = logging.INFO if status == 200 else logging.WARNING
        log.log(level, "refused %s %s from %s: %d %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"),
                environ.get("REMOTE_ADDR", "?"), status, reason)
        metrics.REQUESTS.labels(kind, str(status)).inc()
        return _answer(start_response, status, body, content_type)


def _answer(start_response: StartResponse, status: int, body: bytes, content_type: str = _TEXT) -> list[bytes]:
    reason = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 413: "Payload Too Large",
              503: "Service Unavailable"}.get(status, "Error")
    start_response(f"{status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def _length(environ: WSGIEnvironment) -> int:
    value = str(environ.get("CONTENT_LENGTH") or "0")
    return int(value) if value.isdigit() else 0  # waitress has refused anything else already


def _body(environ: WSGIEnvironment, limit: int) -> bytes | None:
    """The whole body, or None when it is over ``limit`` (then it is not read)."""
    length = _length(environ)
    if length > limit:
        return None
    stream = environ["wsgi.input"]
    chunks, left = [], length
    while left > 0:
        chunk = stream.read(min(left, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _headers(environ: WSGIEnvironment) -> dict[str, str]:
    out = {k[5:].lower().replace("_", "-"): str(v) for k, v in environ.items() if k.startswith("HTTP_")}
    out["content-type"] = str(environ.get("CONTENT_TYPE", ""))
    return out
