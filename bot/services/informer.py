"""The watcher's in-memory picture of the cluster: bot Jobs, their pods, and Warning events about them.

Fed by the watch threads (``apply_reset``, ``apply_event``); read by the reactor (``view``). Every
change names the bot job it concerns, so the reactor looks at that job only. Rebuilt from lists on
start and after a 410; a relist that no longer shows an object deletes it here too.
"""

from __future__ import annotations

import threading
from collections import deque

from bot.domain.cluster.manifests import LABEL_MANAGED_BY, LABEL_NAME, MANAGED_BY
from bot.domain.cluster.objects import Obj
from bot.domain.cluster.workload_view import KIND_OF_PLURAL, as_job

_INVOLVED = ("Pod", "Job", "JobSet", "TrainJob")  # the kinds whose Warning events explain a bot job
EVENTS_PER_OBJECT = 5  # the newest few Warning events per pod or Job are enough to explain it


def _meta(obj: Obj) -> Obj:
    meta: Obj = obj.get("metadata") or {}
    return meta


def job_key_of(obj: Obj) -> str | None:
    """``namespace/job`` for a bot-managed Job or pod; None for anything else."""
    meta = _meta(obj)
    labels = meta.get("labels") or {}
    if labels.get(LABEL_MANAGED_BY) != MANAGED_BY:
        return None
    name = meta["name"] if obj.get("kind") == "Job" else labels.get(LABEL_NAME)
    return f"{meta.get('namespace', '')}/{name}" if name else None


class Informer:
    def __init__(self, namespaces: set[str] | None = None) -> None:
        self.lock = threading.Lock()
        self.namespaces = namespaces  # None: every namespace
        self.jobs: dict[str, Obj] = {}  # ns/job → Job (a JobSet or TrainJob read as one: ``as_job``)
        self._source: dict[str, str] = {}  # ns/job → the watched kind it came from: jobs, jobsets, trainjobs
        self.pods: dict[str, Obj] = {}  # ns/pod → pod
        self.pods_by_job: dict[str, set[str]] = {}  # ns/job → {ns/pod}
        self.events: dict[str, deque[Obj]] = {}  # ns/object name → Warning events, newest last

    # --- writes (watch threads) ------------------------------------------------------------------

    def apply_reset(self, kind: str, items: list[Obj]) -> set[str]:
        """Replace everything of ``kind``; the job keys whose picture may have changed."""
        with self.lock:
            if kind in KIND_OF_PLURAL:
                before = {k for k, src in self._source.items() if src == kind}
                for old in before:
                    self.jobs.pop(old, None)
                    self._source.pop(old, None)
                for o in items:
                    if key := job_key_of({**o, "kind": "Job"}):
                        self.jobs[key], self._source[key] = as_job(o, KIND_OF_PLURAL[kind]), kind
                return before | {k for k, src in self._source.items() if src == kind}
            if kind == "pods":
                touched = set(self.pods_by_job)
                self.pods, self.pods_by_job = {}, {}
                for pod in items:
                    touched |= self._put_pod(pod)
                return touched
            self.events = {}
            return set().union(*(self._put_event(e) for e in items)) if items else set()

    def apply_event(self, kind: str, event_type: str, obj: Obj) -> set[str]:
        with self.lock:
            if kind in KIND_OF_PLURAL:
                key = job_key_of({**obj, "kind": "Job"})
                if key is None:
                    return set()
                if event_type == "DELETED":
                    self.jobs.pop(key, None)
                    self._source.pop(key, None)
                    self.events.pop(key, None)
                else:
                    self.jobs[key], self._source[key] = as_job(obj, KIND_OF_PLURAL[kind]), kind
                return {key}
            if kind == "pods":
                if event_type == "DELETED":
                    return self._drop_pod(obj)
                return self._put_pod(obj)
            return self._put_event(obj) if event_type != "DELETED" else set()

    def _put_pod(self, pod: Obj) -> set[str]:
        job = job_key_of({**pod, "kind": "Pod"})
        if job is None:
            return set()
        pk = f"{_meta(pod).get('namespace', '')}/{_meta(pod)['name']}"
        self.pods[pk] = pod
        self.pods_by_job.setdefault(job, set()).add(pk)
        return {job}

    def _drop_pod(self, pod: Obj) -> set[str]:
        pk = f"{_meta(pod).get('namespace', '')}/{_meta(pod)['name']}"
        self.pods.pop(pk, None)
        self.events.pop(pk, None)
        job = job_key_of({**pod, "kind": "Pod"})
        if job is None:
            return set()
        members = self.pods_by_job.get(job)
        if members is not None:
            members.discard(pk)
            if not members:
                del self.pods_by_job[job]
        return {job}

    def _put_event(self, event: Obj) -> set[str]:
        involved = event.get("involvedObject") or {}
        ns, name, kind = involved.get("namespace", ""), involved.get("name", ""), involved.get("kind")
        if kind not in _INVOLVED or (self.namespaces is not None and ns not in self.namespaces):
            return set()
        ok = f"{ns}/{name}"
        kept = self.events.setdefault(ok, deque(maxlen=EVENTS_PER_OBJECT))
        uid = _meta(event).get("uid")
        for i, old in enumerate(kept):  # a repeated event (count bumped) replaces its older copy
            if uid and _meta(old).get("uid") == uid:
                del kept[i]
                break
        kept.append(event)
        if kind in ("Job", "JobSet", "TrainJob"):
            return {ok} if ok in self.jobs else set()
        pod = self.pods.get(ok)
        job = job_key_of({**pod, "kind": "Pod"}) if pod is not None else None
        return {job} if job else set()

    # --- reads (reactor) -------------------------------------------------------------------------

    def view(self, key: str) -> tuple[Obj | None, list[Obj], dict[str, list[Obj]]]:
        """The Job, its pods and the Warning events by object name (Job and pods), for one job."""
        with self.lock:
            job = self.jobs.get(key)
            pod_keys = sorted(self.pods_by_job.get(key, ()))
            pods = [self.pods[pk] for pk in pod_keys if pk in self.pods]
            events: dict[str, list[Obj]] = {}
            for ok in [key, *pod_keys]:
                if ok in self.events:
                    events[ok.partition("/")[2]] = list(self.events[ok])
        return job, pods, events

    def job_keys(self) -> set[str]:
        with self.lock:
            return set(self.jobs) | set(self.pods_by_job)

    def size(self) -> tuple[int, int, int]:
        with self.lock:
            return len(self.jobs), len(self.pods), sum(len(v) for v in self.events.values())
