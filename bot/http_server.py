"""The HTTP routes of DESIGN.md on a threaded stdlib server: Slack events, health, readiness, metrics.

Slack requests go to bolt, which verifies the signature and timestamp (401 otherwise) and acks
before the listener's slower work continues in its own thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from slack_bolt import App
from slack_bolt.request import BoltRequest

from bot import metrics

log = logging.getLogger(__name__)

MAX_BODY = 1 << 20  # Slack payloads are far smaller; a larger body is refused, not read


class ChatopsHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops SYNs in a webhook burst: clients then wait 1 s to retry
    # POST /alerts/alertmanager: (Authorization header, body) → (status, text); set by the composition root
    alerts: Callable[[str | None, str], tuple[int, str]] | None = None

    def __init__(self, host: str, port: int, app: App | None, ready: Callable[[], bool]) -> None:
        self.app = app
        self.ready = ready
        super().__init__((host, port), _Handler)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    server: ChatopsHTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("http %s", format % args)

    def _send(self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._send(200, b"ok\n")
        elif path == "/readyz":
            ok = self.server.ready()
            self._send(200 if ok else 503, b"ready\n" if ok else b"not ready\n")
        elif path == "/metrics":
            self._send(200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8")
        else:
            self._send(404, b"not found\n")

    def do_POST(self) -> None:
        started = time.perf_counter()
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, b"payload too large\n")
            return
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        if path == "/slack/events" and self.server.app is not None:
            req = BoltRequest(body=body, query=query, headers={k.lower(): [v] for k, v in self.headers.items()})
            resp = self.server.app.dispatch(req)
            headers = {k: v[0] for k, v in resp.headers.items() if v and k != "content-length"}
            content_type = headers.pop("content-type", "text/plain; charset=utf-8")
            self._send(resp.status, resp.body.encode(), content_type, headers)
            metrics.REQUESTS.labels("slack", str(resp.status)).inc()
        elif path == "/alerts/alertmanager" and self.server.alerts is not None:
            status, text = self.server.alerts(self.headers.get("Authorization"), body)
            self._send(status, text.encode())
            metrics.REQUESTS.labels("alertmanager", str(status)).inc()
        else:
            self._send(404, b"not found\n")
        metrics.HTTP_LATENCY.labels(path if path in ("/slack/events", "/alerts/alertmanager") else "other").observe(
            time.perf_counter() - started
        )
