"""An HTTP/1.1 keep-alive server that knows its open connections, and the handler that reports them.

Both emulated servers that stand in for a real one (the API server, and the tests' fault proxy in
front of it) need it: idle keep-alive connections would otherwise pin handler threads after a stop."""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class TrackedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, handler)

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._conns_lock:
            (self._conns.add if add else self._conns.discard)(conn)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class TrackedHandler(BaseHTTPRequestHandler):
    """Keep-alive, no Nagle delay, every connection known to its server; each verb goes to ``dispatch``."""

    protocol_version = "HTTP/1.1"  # keep-alive for the client's connection pool, chunked watches
    server: TrackedServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # each server keeps its own request log, not stderr

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY each answer waits ~40 ms on Nagle.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def dispatch(self, method: str) -> None:
        raise NotImplementedError

    def do_GET(self) -> None:
        self.dispatch("GET")

    def do_POST(self) -> None:
        self.dispatch("POST")

    def do_PUT(self) -> None:
        self.dispatch("PUT")

    def do_PATCH(self) -> None:
        self.dispatch("PATCH")

    def do_DELETE(self) -> None:
        self.dispatch("DELETE")
