"""An HTTP proxy on loopback in front of ``chatops sim`` that injects the faults of a real API server.

Random faults (``error_rate`` 500s, ``throttle_rate`` 429s with ``Retry-After``, ``drop_rate``
connections closed with no answer) are drawn from one seeded generator, so a run can be repeated.
Rules (``add_rule``) pick requests by method and path and say exactly what happens to them, for
how many times; the first matching rule wins over the random faults. ``apply_then_500`` and
``apply_then_drop`` forward the request upstream (the cluster applies it) and then answer 500 or
hang up: the ambiguous answer a client must read back after.

    with FaultProxy(sim.url, error_rate=0.2, throttle_rate=0.05, drop_rate=0.05, seed=7) as proxy:
        proxy.add_rule("DELETE", r"/jobs/train$", "apply_then_500", times=1)
        proxy.write_kubeconfig(tmp_path / "kubeconfig")   # KUBECONFIG for `chatops run`

Watches (``watch=true``) are streamed through as they come; random faults spare them unless
``include_watches`` (a dropped watch is a normal event the informer must survive, but it makes a
run's fault count depend on timing). Every faulted request is in ``injected``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import re
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

from bot.sim.tracked_http import TrackedHandler, TrackedServer

Fault = Literal["500", "503", "429", "drop", "apply_then_500", "apply_then_drop", "pass"]
FAULTS: tuple[str, ...] = ("500", "503", "429", "drop", "apply_then_500", "apply_then_drop", "pass")
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length",
               "server", "date"}  # the last two: send_response writes its own


@dataclass
class Rule:
    """Requests whose method and path match get ``fault`` (``times`` times; None: for ever)."""

    method: str | None
    path: re.Pattern[str] | None
    fault: Fault
    times: int | None = None
    retry_after: float = 1.0
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and self.method != method:
            return False
        return self.path is None or self.path.search(path) is not None


@dataclass(frozen=True)
class Injected:
    method: str
    path: str
    fault: Fault


def _status_body(code: int, reason: str, message: str, retry_after: float | None = None) -> bytes:
    """A ``metav1.Status`` as the API server writes it for a failed request."""
    status: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": message, "reason": reason, "code": code}
    if retry_after is not None:
        status["details"] = {"retryAfterSeconds": max(1, round(retry_after))}
    return json.dumps(status).encode()


class _Handler(TrackedHandler):
    server: _Server

    def dispatch(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        proxy = self.server.proxy
        fault, retry_after = proxy.decide(method, self.path)
        if fault != "pass":
            proxy.record(Injected(method, self.path.split("?", 1)[0], fault))
        if fault == "drop":
            self._hang_up()
        elif fault in ("500", "503", "429"):
            self._fail(int(fault), retry_after)
        elif fault in ("apply_then_500", "apply_then_drop"):
            # the upstream may have applied it or not: the answer is ambiguous either way
            with contextlib.suppress(OSError, http.client.HTTPException):
                self._forward(method, body, stream=False)
            if fault == "apply_then_drop":
                self._hang_up()
            else:
                self._fail(500, retry_after)
        else:
            try:
                self._forward(method, body, stream=True)
            except (OSError, http.client.HTTPException):
                self._hang_up()

    def _fail(self, code: int, retry_after: float) -> None:
        if code == 429:
            payload = _status_body(429, "TooManyRequests", "Too many requests, please try again later.", retry_after)
        elif code == 503:
            payload = _status_body(503, "ServiceUnavailable", "the server is currently unable to handle the request")
        else:
            payload = _status_body(500, "InternalError", "Internal error occurred: injected by the fault proxy")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        if code == 429:
            self.send_header("Retry-After", str(max(1, round(retry_after))))
        self.end_headers()
        self.wfile.write(payload)

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _forward(self, method: str, body: bytes, *, stream: bool) -> None:
        proxy = self.server.proxy
        conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=proxy.upstream_timeout)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP and k.lower() != "host"}
            if body:
                headers["Content-Length"] = str(len(body))
            conn.request(method, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            if not stream:
                resp.read()  # applied upstream; the caller answers instead
                return
            chunked = resp.getheader("Content-Length") is None
            self.send_response(resp.status, resp.reason)
            for key, value in resp.getheaders():
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                while piece := resp.read1(65536):  # a watch: pass each event on as it arrives
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            else:
                data = resp.read()
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
        finally:
            conn.close()


class _Server(TrackedServer):
    proxy: FaultProxy

    def __init__(self, address: tuple[str, int], proxy: FaultProxy) -> None:
        super().__init__(address, _Handler)
        self.proxy = proxy

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up (the bot timing out, or stopping) is normal here, not news


@dataclass
class FaultProxy:
    upstream_url: str
    error_rate: float = 0.0  # share of requests answered 500 without reaching the upstream
    throttle_rate: float = 0.0  # share answered 429 with Retry-After
    drop_rate: float = 0.0  # share whose connection is closed with no answer
    seed: int = 0
    retry_after: float = 1.0
    methods: Iterable[str] | None = None  # random faults only for these methods (None: all)
    include_watches: bool = False
    upstream_timeout: float = 3600.0  # watches are long
    injected: list[Injected] = field(default_factory=list)
    _rules: list[Rule] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: _Server | None = None
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.upstream_url)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self._random = random.Random(self.seed)
        self._methods = {m.upper() for m in self.methods} if self.methods is not None else None

    # --- control -------------------------------------------------------------------------------------

    def add_rule(self, method: str | None = None, path: str | None = None, fault: Fault = "500",
                 times: int | None = None, retry_after: float | None = None) -> Rule:
        """``path`` is a regular expression searched in the request path (query string excluded)."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        rule = Rule(method.upper() if method else None, re.compile(path) if path else None, fault, times,
                    self.retry_after if retry_after is None else retry_after)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear_rules(self) -> None:
        with self._lock:
            self._rules.clear()

    def set_rates(self, error_rate: float = 0.0, throttle_rate: float = 0.0, drop_rate: float = 0.0) -> None:
        with self._lock:
            self.error_rate, self.throttle_rate, self.drop_rate = error_rate, throttle_rate, drop_rate

    def faults(self, fault: Fault | None = None) -> list[Injected]:
        with self._lock:
            return [i for i in self.injected if fault is None or i.fault == fault]

    # --- the decision --------------------------------------------------------------------------------

    def decide(self, method: str, raw_path: str) -> tuple[Fault, float]:
        path, _, query = raw_path.partition("?")
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.hits += 1
                    return rule.fault, rule.retry_after
            if "watch=true" in query and not self.include_watches:
                return "pass", self.retry_after
            if self._methods is not None and method not in self._methods:
                return "pass", self.retry_after
            draw = self._random.random()
            if draw < self.error_rate:
                return "500", self.retry_after
            if draw < self.error_rate + self.throttle_rate:
                return "429", self.retry_after
            if draw < self.error_rate + self.throttle_rate + self.drop_rate:
                return "drop", self.retry_after
            return "pass", self.retry_after

    def record(self, injected: Injected) -> None:
        with self._lock:
            self.injected.append(injected)

    # --- life ----------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the proxy first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> str:
        self._server = _Server(("127.0.0.1", 0), self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def write_kubeconfig(self, path: str | Path, context: str = "fault-proxy") -> Path:
        from bot.sim.discovery import kubeconfig_yaml

        out = Path(path)
        out.write_text(kubeconfig_yaml(self.url, context))
        return out

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
