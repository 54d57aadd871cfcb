"""Several Kubernetes clusters behind the one ``Cluster`` port (policy ``clusters:``).

Each cluster is a ``KubeCluster`` on its own kubeconfig context. Reads are merged (node names become
"cluster/node", Jobs carry their cluster); calls about one job go to the cluster its record names
(``locate``). A cluster whose calls fail as transient (no answer, 5xx, timeouts after the retries) is
marked unreachable since then; the snapshot says so, and it is probed with one quick call per pass
until it answers again. Watches are one watch set per cluster, merged: a relist of one cluster
replaces only that cluster's objects in what the watcher is told.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from bot.adapters.kube.client import KubeCluster
from bot.adapters.kube.watch import KindWatch, OnEvent, OnReset
from bot.domain.cluster.kueue_workloads import WorkloadView
from bot.domain.cluster.objects import Obj
from bot.domain.cluster.snapshot import JobPhase, Snapshot
from bot.domain.cluster.watch_spec import WatchSpec
from bot.domain.errors import BackendError, TransientBackendError
from bot.domain.policy.clusters import ClusterEntry
from bot.domain.scheduling.model import ClusterFacts, NodeFacts

log = logging.getLogger(__name__)

Locate = Callable[[str, str], str | None]  # (namespace, job) → the cluster its record names


def connect(clusters: Mapping[str, ClusterEntry], gpu_types: Mapping[str, str],
            kubeconfig: str | None) -> KubeCluster | KubeClusters:
    """The cluster(s) of the policy's ``clusters:``: one ``KubeCluster`` for none or one, else ``KubeClusters``."""
    if len(clusters) > 1:
        return KubeClusters.from_contexts({n: e.context for n, e in clusters.items()}, gpu_types, kubeconfig,
                                          {n: e.namespaces for n, e in clusters.items()})
    context = next(iter(clusters.values())).context if clusters else None
    return KubeCluster.from_env(gpu_types, kubeconfig, context)


def kube_contexts(kubeconfig: str | None) -> set[str] | None:
    """The context names of the kubeconfig file(s), or None when there is none to read."""
    from kubernetes import config as k8s_config

    if not kubeconfig:
        return None
    try:
        found, _ = k8s_config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
    except (k8s_config.ConfigException, OSError):
        return None
    return {c["name"] for c in found or []}


class KubeClusters:
    def __init__(self, members: Mapping[str, KubeCluster], namespaces: Mapping[str, Collection[str] | None]
                 | None = None, clock: Callable[[], float] = time.time) -> None:
        self.members = dict(members)
        self.names = list(members)
        self.namespaces = dict(namespaces or {})
        self.clock = clock
        self.locate: Locate = lambda namespace, name: None
        self.down: dict[str, float] = {}  # cluster → since when it has not answered
        self._last: dict[str, Snapshot] = {}  # cluster → what it showed when it last answered
        self._lock = threading.Lock()

    @classmethod
    def from_contexts(cls, contexts: Mapping[str, str], gpu_types: Mapping[str, str], kubeconfig: str | None,
                      namespaces: Mapping[str, Collection[str] | None] | None = None) -> KubeClusters:
        return cls({name: KubeCluster.from_env(gpu_types, kubeconfig, ctx) for name, ctx in contexts.items()},
                   namespaces)

    # --- health ----------------------------------------------------------------------------------

    def _failed(self, name: str, err: BackendError) -> None:
        if not err.retryable:
            return
        with self._lock:
            if name not in self.down:
                self.down[name] = self.clock()
                log.warning("cluster %s unreachable: %s; no new jobs go there", name, err)

    def _answered(self, name: str) -> None:
        with self._lock:
            if self.down.pop(name, None) is not None:
                log.info("cluster %s answers again", name)

    def unreachable(self) -> dict[str, float]:
        with self._lock:
            return dict(self.down)

    def _up(self) -> list[tuple[str, KubeCluster]]:
        down = self.unreachable()
        return [(n, k) for n, k in self.members.items() if n not in down]

    def _of(self, namespace: str, name: str) -> tuple[str, KubeCluster]:
        cluster = self.locate(namespace, name) or self.names[0]
        if cluster not in self.members:
            cluster = self.names[0]
        if cluster in self.unreachable():
            raise TransientBackendError("kubernetes", f"cluster {cluster} is unreachable")
        return cluster, self.members[cluster]

    def _on(self, cluster: str, call: Callable[[KubeCluster], Any]) -> Any:
        try:
            out = call(self.members[cluster])
        except BackendError as err:
            self._failed(cluster, err)
            raise
        self._answered(cluster)
        return out

    # --- reading ---------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        nodes: list[NodeFacts] = []
        used: dict[str, int] = {}
        bound: dict[str, int] = {}
        pods: dict[str, dict[str, int]] = {}
        for name, kube in self.members.items():
            try:
                if name in self.unreachable():
                    kube.ping()  # one quick call: a dead cluster costs no retry budget per pass
                part = kube.snapshot()
            except BackendError as err:
                self._failed(name, err)
                last = self._last.get(name)
                if last is None:
                    continue
                # as last seen: its GPU types still exist (a launch for them waits, it is not refused);
                # the scheduler places nothing there while it is down
                part = last
            else:
                self._answered(name)
                self._last[name] = part
            nodes += [dataclasses.replace(n, name=f"{name}/{n.name}", cluster=name) for n in part.facts.nodes]
            used |= {f"{name}/{node}": gpus for node, gpus in part.facts.used.items()}
            bound |= part.bound_pods
            pods |= {job: {f"{name}/{node}": g for node, g in held.items()} for job, held in part.pods.items()}
        return Snapshot(ClusterFacts(nodes, used), bound, pods, clusters=tuple(self.names),
                        unreachable=self.unreachable())

    def managed_jobs(self, kinds: Collection[str] = ()) -> dict[str, JobPhase]:
        out: dict[str, JobPhase] = {}
        for name, kube in self._up():
            try:
                found = kube.managed_jobs(kinds)
            except BackendError as err:
                self._failed(name, err)
                continue
            self._answered(name)
            for key, phase in found.items():
                # a name in two clusters (an old finished Job in one): the one its record names
                if key not in out or self.locate(phase.namespace, phase.name) == name:
                    out[key] = dataclasses.replace(phase, cluster=name)
        return out

    def job_pods(self, namespace: str, name: str) -> list[Obj]:
        cluster, _ = self._of(namespace, name)
        return list(self._on(cluster, lambda k: k.job_pods(namespace, name)))

    def pod_log(self, namespace: str, pod: str, tail: int) -> str:
        """A pod's log from the cluster that has the pod (only its job's cluster does)."""
        last: BackendError | None = None
        for name, _ in self._up():
            try:
                return str(self._on(name, lambda k: k.pod_log(namespace, pod, tail)))
            except BackendError as err:
                last = err
        raise last or TransientBackendError("kubernetes", "no cluster answers")

    def job_exists(self, namespace: str, name: str, *, kind: str = "job") -> bool:
        cluster, _ = self._of(namespace, name)
        return bool(self._on(cluster, lambda k: k.job_exists(namespace, name, kind=kind)))

    def workloads(self) -> dict[str, WorkloadView]:  # scheduler: kueue has one cluster (MultiKueue: Kueue's)
        return self.members[self.names[0]].workloads()

    def pending_positions(self, namespace: str, queue: str) -> dict[str, int]:
        return self.members[self.names[0]].pending_positions(namespace, queue)

    # --- writing ---------------------------------------------------------------------------------

    def dry_run(self, manifests: list[Obj]) -> None:
        """On a reachable cluster that serves the namespace (the job's cluster is chosen at admission)."""
        ns = manifests[0]["metadata"]["namespace"] if manifests else ""
        up = [(n, k) for n, k in self._up() if (served := self.namespaces.get(n)) is None or ns in served]
        if not up:
            raise TransientBackendError("kubernetes", "no cluster that serves this namespace answers")
        cluster = up[0][0]
        self._on(cluster, lambda k: k.dry_run(manifests))

    def create(self, manifests: list[Obj], idempotency_key: str) -> None:
        meta = manifests[0]["metadata"]
        cluster, _ = self._of(meta["namespace"], meta["name"])
        self._on(cluster, lambda k: k.create(manifests, idempotency_key))

    def delete_job(self, namespace: str, name: str, *, wait_for_pods: bool = False, kind: str = "job") -> bool:
        cluster, _ = self._of(namespace, name)
        return bool(self._on(cluster, lambda k: k.delete_job(namespace, name, wait_for_pods=wait_for_pods, kind=kind)))

    def preempt_job(self, namespace: str, name: str, grace_period_s: int, *, kind: str = "job") -> bool:
        cluster, _ = self._of(namespace, name)
        return bool(self._on(cluster, lambda k: k.preempt_job(namespace, name, grace_period_s, kind=kind)))

    def set_deadline(self, namespace: str, name: str, active_deadline_s: int) -> bool:
        cluster, _ = self._of(namespace, name)
        return bool(self._on(cluster, lambda k: k.set_deadline(namespace, name, active_deadline_s)))

    def watch(self, spec: WatchSpec, on_reset: OnReset, on_event: OnEvent) -> MergedWatch:
        return MergedWatch(self.members, spec, on_reset, on_event)

    def close(self) -> None:
        for kube in self.members.values():
            kube.close()


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace", "")), str(meta.get("uid") or meta.get("name", ""))


class MergedWatch:
    """One ``KindWatch`` per cluster for one kind; a relist of one cluster is told as a reset of the
    kind with every cluster's current objects (the others' as their events left them)."""

    def __init__(self, members: Mapping[str, KubeCluster], spec: WatchSpec, on_reset: OnReset,
                 on_event: OnEvent) -> None:
        self.spec = spec
        self._on_reset, self._on_event = on_reset, on_event
        self._lock = threading.Lock()
        self._seen: dict[str, dict[tuple[str, str], Obj]] = {name: {} for name in members}
        self._stop = threading.Event()
        self.watches = {name: kube.watch(spec, self._reset_of(name), self._event_of(name))
                        for name, kube in members.items()}

    def _reset_of(self, cluster: str) -> OnReset:
        def reset(kind: str, items: list[Obj]) -> None:
            with self._lock:
                self._seen[cluster] = {_key(o): o for o in items}
                merged = [o for seen in self._seen.values() for o in seen.values()]
                self._on_reset(kind, merged)
        return reset

    def _event_of(self, cluster: str) -> OnEvent:
        def event(kind: str, event_type: str, obj: Obj) -> None:
            with self._lock:
                if event_type == "DELETED":
                    self._seen[cluster].pop(_key(obj), None)
                else:
                    self._seen[cluster][_key(obj)] = obj
                self._on_event(kind, event_type, obj)
        return event

    def run(self) -> None:
        threads = [threading.Thread(target=w.run, name=f"watch-{self.spec.kind}-{name}", daemon=True)
                   for name, w in self.watches.items()]
        for t in threads:
            t.start()
        self._stop.wait()
        for t in threads:
            t.join(timeout=5.0)

    def stop(self) -> None:
        for w in self.watches.values():
            w.stop()
        self._stop.set()


__all__ = ["KindWatch", "KubeClusters", "MergedWatch", "kube_contexts"]
