"""URL → resource routing and the REST verbs on top of the store, free of HTTP details."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain.cluster.objects import Obj
from bot.sim import custom, gc, namespaces
from bot.sim import status as st
from bot.sim.openapi import ROOTS, prune_unknown
from bot.sim.patch import apply_patch
from bot.sim.selectors import SelectorError, make_matcher
from bot.sim.status import RESOURCES, ApiError, Resource
from bot.sim.store import AlreadyExists, Store, clone
from bot.sim.validation import prepare_create
from bot.sim.watch import Entry

Query = dict[str, str]
Warnings = list[str]  # the answer's Warning headers, filled in by the verbs
LogReader = Callable[[str, str, str | None, int | None], str]


@dataclass(frozen=True, slots=True)
class Route:
    res: Resource
    namespace: str | None  # None: all namespaces (or a cluster-scoped kind)
    name: str | None
    sub: str | None  # "log", "status"


def parse_path(path: str, served: Mapping[str, Resource] = RESOURCES) -> Route | None:
    """The resource a URL names among ``served`` (the core kinds, plus Kueue's with ``--kueue``)."""
    parts = [p for p in path.split("/") if p]
    if parts[:2] == ["api", "v1"]:
        rest, api_version = parts[2:], "v1"
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        rest, api_version = parts[3:], f"{parts[1]}/{parts[2]}"
    else:
        return None
    namespace: str | None = None
    if len(rest) == 3 and rest[0] == "namespaces" and rest[2] not in RESOURCES and parts[0] == "api":
        return Route(RESOURCES["namespaces"], None, rest[1], rest[2])  # namespaces/NAME/status
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or rest[0] not in served or len(rest) > 3:
        return None
    res = served[rest[0]]
    if res.api_version != api_version or (namespace is not None and not res.namespaced):
        return None
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    return Route(res, namespace, name, sub)


def _encode_continue(rv: int, key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"rv": rv, "start": key}).encode()).decode()


def _decode_continue(token: str) -> str:
    try:
        return str(json.loads(base64.urlsafe_b64decode(token.encode()))["start"])
    except (ValueError, KeyError, TypeError):
        raise st.bad_request("invalid continue token") from None


def decode(route: Route, obj: Obj, query: Query, warnings: list[str] | None, patch: bool = False) -> None:
    """Field validation: unknown fields are dropped; ``Strict`` refuses them, ``Warn`` (the default) warns."""
    directive = query.get("fieldValidation") or "Warn"
    if directive not in ("Ignore", "Warn", "Strict"):
        raise st.bad_request(f'fieldValidation must be one of "Ignore", "Warn" or "Strict", not {directive!r}')
    unknown = prune_unknown(route.res.plural, obj, patch)
    if not unknown or directive == "Ignore":
        return
    fields = [f'unknown field "{u}"' for u in unknown]
    if directive == "Strict":
        kind, version = route.res.kind, route.res.api_version.rsplit("/", 1)[-1]
        raise st.bad_request(
            f'{kind} in version "{version}" cannot be handled as a {kind}: strict decoding error: {", ".join(fields)}'
        )
    if warnings is not None:
        warnings += fields


def matcher(route: Route, query: Query) -> Callable[[Obj], bool]:
    try:
        return make_matcher(route.res.plural, query.get("labelSelector"), query.get("fieldSelector"))
    except SelectorError as e:
        raise st.bad_request(str(e)) from None


class Api:
    """The verbs; every method raises ``ApiError`` for answers other than success."""

    def __init__(self, store: Store, read_log: LogReader) -> None:
        self.store = store
        self.read_log = read_log

    def _ns(self, route: Route) -> str:
        return route.namespace or ""

    def _require(self, route: Route) -> Obj:
        assert route.name is not None
        obj = self.store.get(route.res.plural, self._ns(route), route.name)
        if obj is None:
            raise st.not_found(route.res, route.name)
        return obj

    def create(self, route: Route, body: Any, query: Query, warnings: Warnings | None = None) -> Obj:
        if not isinstance(body, dict):
            raise st.bad_request("the request body must be a JSON object")
        if route.res.namespaced and route.namespace is None:
            raise ApiError(405, "MethodNotAllowed", "create needs a namespace")
        obj = clone(body)
        decode(route, obj, query, warnings)
        obj = prepare_create(route.res, obj, self._ns(route))
        custom.admit(self.store, route.res, obj)
        name = obj["metadata"]["name"]
        if route.res.namespaced:
            namespaces.admit(self.store, route.res.plural, name, route.namespace)
        if query.get("dryRun") == "All":
            # The real server runs the whole admission chain, including the name clash, then stores nothing.
            if self.store.get(route.res.plural, self._ns(route), name) is not None:
                raise st.already_exists(route.res, name)
            obj["metadata"]["creationTimestamp"] = self.store.now()
            return obj
        try:
            return self.store.create(route.res.plural, obj)
        except AlreadyExists:
            raise st.already_exists(route.res, name) from None

    def get(self, route: Route, query: Query) -> Obj | str:
        if route.sub == "log":
            if route.res.plural != "pods" or route.namespace is None or route.name is None:
                raise st.not_found(route.res, route.name or "")
            self._require(route)
            tail = query.get("tailLines")
            if tail is not None and not tail.lstrip("-").isdigit():
                raise st.bad_request(f"invalid tailLines {tail!r}")
            return self.read_log(
                route.namespace, route.name, query.get("container"), int(tail) if tail is not None else None
            )
        return self._require(route)

    def page(self, route: Route, query: Query) -> tuple[Obj, list[Entry]]:
        """The list's metadata (resourceVersion, continue) and the entries of this page."""
        match = matcher(route, query)
        rv, entries = self.store.list(route.res.plural, route.namespace, match)
        start = _decode_continue(query["continue"]) if query.get("continue") else None
        if start is not None:
            entries = [e for e in entries if self._key(e.obj) > start]
        meta: Obj = {"resourceVersion": str(rv)}
        limit_text = query.get("limit") or "0"
        if not limit_text.isdigit():
            raise st.bad_request(f"invalid limit {limit_text!r}")
        limit = int(limit_text)
        if 0 < limit < len(entries):
            meta["continue"] = _encode_continue(rv, self._key(entries[limit - 1].obj))
            meta["remainingItemCount"] = len(entries) - limit
            entries = entries[:limit]
        return meta, entries

    def list(self, route: Route, query: Query) -> bytes:
        meta, entries = self.page(route, query)
        head = {"kind": f"{route.res.kind}List", "apiVersion": route.res.api_version, "metadata": meta}
        prefix = json.dumps(head, separators=(",", ":"))[:-1].encode()
        return prefix + b',"items":[' + b",".join(e.raw() for e in entries) + b"]}"

    @staticmethod
    def _key(obj: Obj) -> str:
        meta = obj["metadata"]
        return f"{meta.get('namespace', '')}/{meta['name']}"

    def _store_update(self, route: Route, old: Obj, new: Obj) -> Obj:
        """Write ``new`` over ``old``, keeping identity fields and the half the subresource doesn't own."""
        if not isinstance(new, dict):
            raise st.bad_request("the result must be a JSON object")
        wanted_rv = (new.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
            raise st.conflict(route.res, old["metadata"]["name"])
        meta = new.setdefault("metadata", {})
        for key in ("name", "namespace", "uid", "creationTimestamp"):
            if key in old["metadata"]:
                meta[key] = old["metadata"][key]
        new["kind"], new["apiVersion"] = route.res.kind, route.res.api_version
        if route.sub == "status":
            new["spec"] = clone(old.get("spec"))
        elif "status" in old:
            new["status"] = clone(old["status"])
        with self.store.lock:
            current = self.store.get(route.res.plural, self._ns(route), meta["name"])
            if current is None:
                raise st.not_found(route.res, meta["name"])
            if current["metadata"]["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise st.conflict(route.res, meta["name"])
            return self.store.replace(route.res.plural, new)

    def patch(self, route: Route, content_type: str, body: Any, query: Query | None = None,
              warnings: Warnings | None = None) -> Obj:
        if isinstance(body, dict):  # a merge patch has the object's shape (JSON patches are op lists)
            body = clone(body)
            decode(route, body, query or {}, warnings, patch=True)
        for _attempt in range(5):
            old = self._require(route)
            new = apply_patch(old, content_type, body, ROOTS.get(route.res.plural))
            try:
                return self._store_update(route, old, new)
            except ApiError as e:
                # A patch without a resourceVersion precondition retries on races with the controller.
                has_rv = isinstance(body, dict) and (body.get("metadata") or {}).get("resourceVersion")
                if e.reason != "Conflict" or has_rv:
                    raise
        raise st.conflict(route.res, route.name or "")

    def replace(self, route: Route, body: Any, query: Query | None = None,
                warnings: Warnings | None = None) -> Obj:
        old = self._require(route)
        new = clone(body)
        if isinstance(new, dict):
            decode(route, new, query or {}, warnings)
        return self._store_update(route, old, new)

    def delete(self, route: Route, body: Any, query: Query) -> Obj:
        obj = self._require(route)
        if route.res.plural == "namespaces":
            if query.get("dryRun") == "All":
                return obj
            return namespaces.delete(self.store, obj["metadata"]["name"])
        policy = query.get("propagationPolicy") or (body or {}).get("propagationPolicy")
        if policy is None and (body or {}).get("orphanDependents") is False:
            policy = "Background"
        if policy is None:
            # batch/v1 Jobs default to orphaning their pods when deleted through the API, like upstream.
            policy = "Orphan" if route.res.plural == "jobs" else "Background"
        if query.get("dryRun") == "All":
            return st.success(route.res, obj["metadata"]["name"], obj["metadata"]["uid"])
        with self.store.lock:
            if route.res.plural == "jobs" and policy in ("Foreground", "Background"):
                self.delete_job_pods(obj)
            elif route.res.group not in st.BUILTIN_GROUPS and policy in ("Foreground", "Background"):
                # custom resources: the garbage collector follows ownerReferences (child Jobs, JobSets,
                # Services, their pods); here it finishes inside the DELETE request
                gc.cascade(self.store, self._ns(route), obj["metadata"]["uid"])
            gone = self.store.delete(route.res.plural, self._ns(route), obj["metadata"]["name"])
        if route.res.plural != "jobs" and gone is not None:
            return gone  # the typed client expects the deleted Pod/Service back, as upstream sends it
        return st.success(route.res, obj["metadata"]["name"], obj["metadata"]["uid"])

    def delete_job_pods(self, job: Obj) -> None:
        ns, uid = job["metadata"]["namespace"], job["metadata"]["uid"]
        _rv, pods = self.store.list(
            "pods", ns, make_matcher("pods", f"job-name={job['metadata']['name']}", None)
        )
        for entry in pods:
            owners = entry.obj["metadata"].get("ownerReferences") or []
            if any(o.get("uid") == uid for o in owners):
                self.store.delete("pods", ns, entry.obj["metadata"]["name"])


def request_verb(method: str, route: Route, query: dict[str, str]) -> str:
    """The Kubernetes verb of a request (what RBAC and the audit log would call it)."""
    if method == "GET":
        if route.name is not None:
            return "get"
        return "watch" if query.get("watch") in ("true", "1") else "list"
    if method == "POST":
        return "create" if route.name is None else "unknown"
    if route.name is None:
        return "deletecollection" if method == "DELETE" else "unknown"
    return {"PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "unknown")
