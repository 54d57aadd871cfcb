"""Kubernetes watches, the informer way: list, then watch from the list's resourceVersion, forever.

One ``KindWatch`` per kind runs in its own thread: it resumes from the last resourceVersion it saw
after a dropped connection or a server timeout, lists again when the server answers 410 Gone (the
version fell out of the server's history), and backs off on errors. Objects stay raw JSON dicts:
the client's model deserialisation is far too slow for thousands of pods.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from bot.adapters.kube import custom
from bot.adapters.kube.kueue import workload_lister
from bot.domain.cluster.objects import Obj
from bot.domain.cluster.watch_spec import WatchSpec

log = logging.getLogger(__name__)

OnReset = Callable[[str, list[Obj]], None]  # (kind, every current object) after a (re)list
OnEvent = Callable[[str, str, Obj], None]  # (kind, ADDED|MODIFIED|DELETED, object)


class _Gone(Exception):
    """The server no longer has our resourceVersion: list again."""


class KindWatch:
    def __init__(self, api_client: k8s.ApiClient, spec: WatchSpec, on_reset: OnReset, on_event: OnEvent,
                 *, timeout_s: int = 240, backoff_max_s: float = 3.0) -> None:
        self.spec = spec
        self.on_reset = on_reset
        self.on_event = on_event
        self.timeout_s = timeout_s
        self.backoff_max_s = backoff_max_s
        self.resource_version: str | None = None
        self.relists = 0
        self.reconnects = 0
        self._stop = threading.Event()
        self._resp: Any = None
        self._lock = threading.Lock()
        batch, core = k8s.BatchV1Api(api_client), k8s.CoreV1Api(api_client)
        calls: dict[str, Callable[..., Any]] = {
            "jobs": batch.list_job_for_all_namespaces,
            "pods": core.list_pod_for_all_namespaces,
            "events": core.list_event_for_all_namespaces,
        }
        if spec.kind in custom.BY_PLURAL:  # JobSets, TrainJobs
            calls[spec.kind] = custom.list_all_call(k8s.CustomObjectsApi(api_client), custom.BY_PLURAL[spec.kind])
        self._call = calls.get(spec.kind) or workload_lister(api_client)  # "workloads": Kueue's, with scheduler: kueue

    def _selectors(self) -> dict[str, str]:
        out = {}
        if self.spec.label_selector:
            out["label_selector"] = self.spec.label_selector
        if self.spec.field_selector:
            out["field_selector"] = self.spec.field_selector
        return out

    def run(self) -> None:
        delay = 0.1
        while not self._stop.is_set():
            try:
                if self.resource_version is None:
                    self._list()
                    self.relists += 1
                delay = 0.1
                self._watch()  # returns when the server ends the watch: resume at once
            except _Gone:
                log.info("watch of %s: resourceVersion %s expired; listing again", self.spec.kind,
                         self.resource_version)
                self.resource_version = None
            except (ApiException, urllib3.exceptions.HTTPError, OSError, ValueError) as err:
                if self._stop.is_set():
                    break
                if isinstance(err, ApiException) and err.status == 410:
                    self.resource_version = None
                    continue
                self.reconnects += 1
                log.warning("watch of %s failed (%s); again in %.1f s", self.spec.kind, type(err).__name__, delay)
                self._stop.wait(delay * (0.5 + random.random()))  # jitter: replicas do not stampede
                delay = min(self.backoff_max_s, delay * 2)

    def _list(self) -> None:
        resp = self._call(_preload_content=False, _request_timeout=(5, 60), **self._selectors())
        data = json.loads(resp.data)
        self.resource_version = str(data["metadata"]["resourceVersion"])
        self.on_reset(self.spec.kind, list(data.get("items") or []))

    def _watch(self) -> None:
        resp = self._call(
            watch=True, resource_version=self.resource_version, allow_watch_bookmarks=True,
            timeout_seconds=self.timeout_s, _preload_content=False,
            _request_timeout=(5, self.timeout_s + 30), **self._selectors(),
        )
        with self._lock:
            self._resp = resp
            # stop() sets the flag before it looks for a response to shut: a stop that came while the
            # request was on its way finds none, so it is seen here instead of after the next event
            stopping = self._stop.is_set()
        try:
            if stopping:
                return
            for line in iter_resp_lines(resp):  # type: ignore[no-untyped-call]
                if self._stop.is_set():
                    return
                self._handle(json.loads(line))
        finally:
            with self._lock:
                self._resp = None
            resp.release_conn()

    def _handle(self, event: Obj) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Gone()
            raise ValueError(f"watch error: {obj.get('message')}")
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if kind != "BOOKMARK":
            self.on_event(self.spec.kind, str(kind), obj)
        if rv:
            self.resource_version = str(rv)  # after handling: a crash mid-event replays it, never skips it

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            resp = self._resp
        if resp is not None:
            try:
                resp.shutdown()  # unblocks the reading thread
            except (AttributeError, OSError):
                resp.close()
