"""The simulated kube-apiserver: Kubernetes REST over HTTP/1.1 on a ``ThreadingHTTPServer``."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from bot.sim import access_review
from bot.sim import status as st
from bot.sim.discovery import discovery
from bot.sim.routes import Api, Route, matcher, parse_path
from bot.sim.status import ApiError
from bot.sim.store import Expired

if TYPE_CHECKING:
    from bot.sim.cluster import SimCluster

_DEFAULT_WATCH_SECONDS = 1800


@dataclass(slots=True)
class RequestRecord:
    """One handled request, as RBAC sees it: verb on resource (and subresource) in namespace."""

    method: str
    resource: str
    verb: str
    namespace: str | None
    name: str | None
    subresource: str | None
    code: int


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive for the client's connection pool, chunked watches
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log lives in ``SimServer.request_log``, not on stderr

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

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # --- plumbing ------------------------------------------------------------------------------------

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise st.bad_request("the request body is not valid JSON") from None

    def _send(self, code: int, payload: bytes, content_type: str = "application/json") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _send_json(self, code: int, obj: Any) -> None:
        self._send(code, json.dumps(obj, separators=(",", ":")).encode())

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        route = parse_path(url.path)
        verb = "unknown"
        code = 200
        rec: RequestRecord | None = None
        try:
            body = self._body() if method in ("POST", "PUT", "PATCH", "DELETE") else None
            if route is None:
                if method == "POST" and (answer := access_review.review(url.path, body, self.server.sim.denied_access)):
                    self._send_json(201, answer)
                    return
                found = discovery(url.path, method) if method == "GET" else None
                if found is None:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
                self._send_json(200, found)
                return
            verb = _verb(method, route, query)
            # logged before the answer goes out: a client that got its answer finds its request logged
            rec = RequestRecord(method, route.res.plural, verb, route.namespace, route.name, route.sub, 0)
            self.server.sim.record(rec)
            code = self._serve(verb, route, query, body)
        except ApiError as e:
            code = e.code
            self._send_json(e.code, e.status)
        except (BrokenPipeError, ConnectionResetError):
            code = 499
        finally:
            if rec is not None:
                rec.code = code
            elif route is not None:  # refused before its verb was known (a bad body)
                self.server.sim.record(
                    RequestRecord(method, route.res.plural, verb, route.namespace, route.name, route.sub, code)
                )

    def _serve(self, verb: str, route: Route, query: dict[str, str], body: Any) -> int:
        api = self.server.sim.api
        if verb == "watch":
            self._watch(route, query)
            return 200
        if verb == "list":
            self._send(200, api.list(route, query))
            return 200
        result: Any
        code = 200
        if verb == "get":
            result = api.get(route, query)
            if isinstance(result, str):
                self._send(200, result.encode(), "text/plain")
                return 200
        elif verb == "create":
            result, code = api.create(route, body, query), 201
        elif verb == "patch":
            result = api.patch(route, self.headers.get("Content-Type", ""), body)
        elif verb == "update":
            result = api.replace(route, body)
        elif verb == "delete":
            result = api.delete(route, body, query)
        else:
            raise ApiError(405, "MethodNotAllowed", f"{verb} is not supported on {route.res.plural}")
        self._send_json(code, result)
        return code

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _watch(self, route: Route, query: dict[str, str]) -> None:
        store = self.server.sim.api.store
        match = matcher(route, query)
        since_text = query.get("resourceVersion") or "0"
        if not since_text.isdigit():
            raise st.bad_request(f"invalid resourceVersion {since_text!r}")
        since = int(since_text) or None  # "0" and "" mean: current state as ADDED, then changes
        timeout = float(query.get("timeoutSeconds") or _DEFAULT_WATCH_SECONDS)
        deadline = time.monotonic() + timeout
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            watcher = store.watch(route.res.plural, route.namespace, match, since)
        except Expired as e:
            event = {"type": "ERROR", "object": st.gone(str(e)).status}
            self._chunk(json.dumps(event).encode() + b"\n")
            self._chunk(b"")
            return
        try:
            while (events := watcher.drain(deadline)) is not None:
                parts = [b'{"type":"%s","object":%s}\n' % (t.encode(), e.raw()) for t, e in events]
                self._chunk(b"".join(parts))
            if query.get("allowWatchBookmarks") in ("true", "1") and not watcher.closed:
                mark = {
                    "kind": route.res.kind,
                    "apiVersion": route.res.api_version,
                    "metadata": {"resourceVersion": str(store.resource_version)},
                }
                self._chunk(json.dumps({"type": "BOOKMARK", "object": mark}).encode() + b"\n")
            self._chunk(b"")
        finally:
            store.unwatch(watcher)


def _verb(method: str, route: Route, query: dict[str, str]) -> str:
    if method == "GET":
        if route.name is not None:
            return "get"
        return "watch" if query.get("watch") in ("true", "1") else "list"
    if method == "POST":
        return "create" if route.name is None else "unknown"
    if route.name is None:
        return "deletecollection" if method == "DELETE" else "unknown"
    return {"PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "unknown")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sim: SimServer) -> None:
        self.sim = sim
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            (self._conns.add if add else self._conns.discard)(conn)

    def close_connections(self) -> None:
        # Idle keep-alive connections would otherwise pin handler threads after stop().
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class SimServer:
    """Serves ``cluster`` over HTTP; ``start``/``stop`` also run the cluster's controller thread."""

    def __init__(self, cluster: SimCluster, host: str = "127.0.0.1", port: int = 0) -> None:
        self.cluster = cluster
        self.api = Api(cluster.store, cluster.read_log)
        self.request_log: list[RequestRecord] = []
        self.denied_access: set[access_review.Denial] = set()  # access reviews answered allowed: false
        self._log_lock = threading.Lock()
        self._httpd = _HTTPServer((host, port), self)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = self._httpd.server_address[0]
        return f"http://{host!s}:{self.port}"

    def record(self, rec: RequestRecord) -> None:
        with self._log_lock:
            self.request_log.append(rec)

    def start(self) -> SimServer:
        self.cluster.start()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="sim-apiserver", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.cluster.store.close_watches()
        self._httpd.close_connections()
        self._httpd.server_close()
        self.cluster.stop()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def write_kubeconfig(self, path: str | Path, context: str = "sim") -> Path:
        from bot.sim.discovery import kubeconfig_yaml

        out = Path(path)
        out.write_text(kubeconfig_yaml(self.url, context))
        return out

    def api_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` pointed at this server with no credentials."""
        from kubernetes import client

        return client.ApiClient(client.Configuration(host=self.url))
