"""The HTTP side of the simulated kube-apiserver: per request, routing, the verb on the ``Api``, the encoding
(JSON, Table, chunked watch events), and the request log entry RBAC tests read."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from bot.sim import access_review, openapi, tables
from bot.sim import status as st
from bot.sim.discovery import discovery
from bot.sim.kueue import api as kueue_api
from bot.sim.routes import Api, Route, matcher, parse_path, request_verb
from bot.sim.status import ApiError
from bot.sim.store import Expired
from bot.sim.tracked_http import TrackedHandler, TrackedServer

if TYPE_CHECKING:
    from bot.sim.cluster import SimCluster

_DEFAULT_WATCH_SECONDS = 1800
# A client that hangs up (a closed kubectl, a stopped bot) is routine, not an error worth a line.
HUNG_UP = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)
log = logging.getLogger(__name__)


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


class Backend(Protocol):
    """What requests are served from: the ``SimServer``."""

    api: Api
    cluster: SimCluster
    denied_access: set[access_review.Denial]

    def record(self, rec: RequestRecord) -> None: ...


class Handler(TrackedHandler):
    server: SimHTTPServer

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

    def _send(self, code: int, payload: bytes, content_type: str = "application/json",
              warnings: list[str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        for text in warnings or []:  # RFC 7234 warn-code 299, as the apiserver sends them
            escaped = text.replace("\\", "\\\\").replace('"', '\\"')
            self.send_header("Warning", f'299 - "{escaped}"')
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _send_json(self, code: int, obj: Any, warnings: list[str] | None = None) -> None:
        self._send(code, json.dumps(obj, separators=(",", ":")).encode(), warnings=warnings)

    def dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        cluster = self.server.sim.cluster
        route = parse_path(url.path, cluster.resources)
        if route is not None and route.res.group not in cluster.groups:
            route = None  # the CRD is not installed on this cluster: 404 like any unknown path
        verb = "unknown"
        code = 200
        rec: RequestRecord | None = None
        try:
            body = self._body() if method in ("POST", "PUT", "PATCH", "DELETE") else None
            if route is None and method == "GET" and cluster.kueue is not None and \
                    (extra := kueue_api.get(cluster, url.path, query, self._record_extra)) is not None:
                self._send(200, extra)  # visibility API, Kueue's OpenAPI document
                return
            if route is None and method == "GET" and url.path.rstrip("/").startswith("/openapi/v3"):
                self._openapi(url.path.rstrip("/"))
                return
            if route is None:
                if method == "POST" and (answer := access_review.review(url.path, body, self.server.sim.denied_access)):
                    self._send_json(201, answer)
                    return
                kueue = cluster.kueue is not None
                found = discovery(url.path, method, cluster.groups, kueue) if method == "GET" else None
                if found is None:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
                self._send_json(200, found)
                return
            verb = request_verb(method, route, query)
            # logged before the answer goes out: a client that got its answer finds its request logged
            rec = RequestRecord(method, route.res.plural, verb, route.namespace, route.name, route.sub, 0)
            self.server.sim.record(rec)
            code = self._serve(verb, route, query, body)
        except ApiError as e:
            code = e.code
            self._send_json(e.code, e.status)
        except HUNG_UP:
            code = 499
        except Exception as e:  # a bug in the sim: answer like the apiserver's panic handler, log it
            log.exception("sim apiserver: %s %s failed", method, url.path)
            code = 500
            with contextlib.suppress(*HUNG_UP):
                self._send_json(500, ApiError(500, "InternalError", f"Internal error occurred: {e}").status)
        finally:
            if rec is not None:
                rec.code = code
            elif route is not None:  # refused before its verb was known (a bad body)
                self.server.sim.record(
                    RequestRecord(method, route.res.plural, verb, route.namespace, route.name, route.sub, code)
                )

    def _record_extra(self, resource: str, namespace: str | None, name: str, sub: str, code: int) -> None:
        self.server.sim.record(RequestRecord("GET", resource, "get", namespace, name, sub, code))

    def _openapi(self, path: str) -> None:
        if path == "/openapi/v3":
            self._send_json(200, openapi.index())
            return
        doc = openapi.document(path.removeprefix("/openapi/v3/"))
        if doc is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        self._send(200, doc)

    def _table_version(self, route: Route) -> str | None:
        if route.sub is not None or route.res.plural not in tables.PRINTERS:
            return None
        return tables.table_version(self.headers.get("Accept", ""))

    def _table(self, route: Route, query: dict[str, str], objects: list[Any], version: str,
               meta: dict[str, Any] | None = None) -> dict[str, Any]:
        now = self.server.sim.cluster.clock.now()
        return tables.table(route.res.plural, objects, now, version, query.get("includeObject") or "Metadata", meta)

    def _serve(self, verb: str, route: Route, query: dict[str, str], body: Any) -> int:
        api = self.server.sim.api
        as_table = self._table_version(route)
        if verb == "watch":
            self._watch(route, query, as_table)
            return 200
        if verb == "list":
            if as_table:
                meta, entries = api.page(route, query)
                self._send_json(200, self._table(route, query, [e.obj for e in entries], as_table, meta))
            else:
                self._send(200, api.list(route, query))
            return 200
        result: Any
        code = 200
        warnings: list[str] = []
        if verb == "get":
            result = api.get(route, query)
            if isinstance(result, str):
                self._send(200, result.encode(), "text/plain")
                return 200
            if as_table:
                meta = {"resourceVersion": result["metadata"].get("resourceVersion", "")}
                result = self._table(route, query, [result], as_table, meta)
        elif verb == "create":
            result, code = api.create(route, body, query, warnings), 201
        elif verb == "patch":
            result = api.patch(route, self.headers.get("Content-Type", ""), body, query, warnings)
        elif verb == "update":
            result = api.replace(route, body, query, warnings)
        elif verb == "delete":
            result = api.delete(route, body, query)
        else:
            raise ApiError(405, "MethodNotAllowed", f"{verb} is not supported on {route.res.plural}")
        self._send_json(code, result, warnings)
        return code

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _watch(self, route: Route, query: dict[str, str], as_table: str | None) -> None:
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
                if as_table:  # each event carries a one-row Table, as ``kubectl get -w`` asks
                    parts = [json.dumps({"type": t, "object": self._table(route, query, [e.obj], as_table)},
                                        separators=(",", ":")).encode() + b"\n" for t, e in events]
                else:
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


class SimHTTPServer(TrackedServer):
    def __init__(self, address: tuple[str, int], sim: Backend) -> None:
        self.sim = sim
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr by default, which lands in the demo's chat.
        error = sys.exc_info()[1]
        if isinstance(error, HUNG_UP):
            return
        log.error("sim apiserver: request from %s failed", client_address, exc_info=error)
