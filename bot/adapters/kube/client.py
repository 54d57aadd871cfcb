"""The Kubernetes adapter: the only module that imports ``kubernetes``.

Responses are read raw (``_preload_content=False``) and parsed as plain JSON dicts: the
client's model deserialisation costs milliseconds per object, too slow for thousands of pods.
Every call goes through ``calls.RetryPolicy``: one error map by HTTP status, retries for the
calls that may be repeated. The client's own urllib3 retries are off, so that policy is the only one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any, cast

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from bot.adapters.kube import custom, kueue
from bot.adapters.kube.calls import ObjectNotFound, RetryPolicy
from bot.adapters.kube.reading import IDEMPOTENCY_ANNOTATION, phase_of, snapshot_of
from bot.adapters.kube.watch import KindWatch, OnEvent, OnReset
from bot.domain.cluster.kueue_workloads import WorkloadView
from bot.domain.cluster.manifests import LABEL_NAME, MANAGED_BY_SELECTOR
from bot.domain.cluster.objects import Job, Node, Obj, ObjectList, Pod
from bot.domain.cluster.snapshot import JobPhase, Snapshot
from bot.domain.cluster.watch_spec import WatchSpec
from bot.domain.errors import (
    AlreadyExistsNotOurs,
    BackendError,
    DryRunRejected,
    NamespaceMissing,
    PermanentBackendError,
    Rejected,
)

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = (3.05, 30)  # (connect, read) seconds for one attempt


def _configuration(host: str | None = None) -> k8s.Configuration:
    configuration = k8s.Configuration(host=host) if host else k8s.Configuration()
    configuration.retries = False  # RetryPolicy decides: urllib3 would silently repeat a DELETE
    return configuration


class KubeCluster:
    def __init__(self, api_client: k8s.ApiClient, gpu_types: Mapping[str, str],
                 policy: RetryPolicy | None = None) -> None:
        self.api_client = api_client
        self.core = k8s.CoreV1Api(api_client)
        self.batch = k8s.BatchV1Api(api_client)
        self.custom_api = k8s.CustomObjectsApi(api_client)
        self._custom = custom.Lister(self.custom_api)
        self.policy = policy or RetryPolicy()
        self._short_by_product = {product: short for short, product in gpu_types.items()}

    @classmethod
    def from_env(cls, gpu_types: Mapping[str, str], kubeconfig: str | None = None,
                 context: str | None = None) -> KubeCluster:
        """From ``KUBECONFIG`` (or the given file; ``context``: one of its contexts, else its current
        one), else (or for the context ``in-cluster``) the in-cluster service account."""
        configuration = _configuration()
        try:
            if kubeconfig and context != "in-cluster":
                k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=kubeconfig, client_configuration=configuration, context=context
                )
            else:
                k8s_config.load_incluster_config(  # type: ignore[no-untyped-call]
                    client_configuration=configuration
                )
        except (k8s_config.ConfigException, OSError) as err:
            raise PermanentBackendError("kubernetes", f"cannot configure the Kubernetes client: {err}") from err
        return cls(k8s.ApiClient(configuration), gpu_types)

    @classmethod
    def from_url(cls, url: str, gpu_types: Mapping[str, str]) -> KubeCluster:
        return cls(k8s.ApiClient(_configuration(url)), gpu_types)

    def close(self) -> None:
        self.api_client.close()  # type: ignore[no-untyped-call]

    def ping(self) -> None:
        """One quick call, not retried (``/version``): is the API server there at all?"""
        version = k8s.VersionApi(self.api_client)
        self.policy.run("ping", lambda: version.get_code(_preload_content=False, _request_timeout=(1.0, 3.0)),
                        retry=False)

    # --- the one way to call ----------------------------------------------------------------------

    def _call(self, what: str, call: Callable[..., Any], *args: Any, retry: bool, writes: bool = False,
              **kwargs: Any) -> Any:
        return self.policy.run(
            what, lambda: call(*args, _preload_content=False, _request_timeout=REQUEST_TIMEOUT, **kwargs),
            retry=retry, writes=writes,
        )

    def read(self, what: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A read (retried: repeating it changes nothing), parsed from JSON."""
        return json.loads(self._call(what, call, *args, retry=True, **kwargs).data)

    def watch(self, spec: WatchSpec, on_reset: OnReset, on_event: OnEvent) -> KindWatch:
        """One list-then-watch loop for ``spec`` (run it on a thread of its own; ``stop`` ends it)."""
        return KindWatch(self.api_client, spec, on_reset, on_event)

    def workloads(self) -> dict[str, WorkloadView]:
        """Kueue's Workloads of Jobs, by ``ns/job`` (``scheduler: kueue``)."""
        return kueue.workloads(self.api_client, self.policy)

    def pending_positions(self, namespace: str, queue: str) -> dict[str, int]:
        """Kueue's visibility API: job name → position in the ClusterQueue of the LocalQueue's pending ones."""
        return kueue.pending_positions(self.api_client, self.policy, namespace, queue)

    # --- reading ---------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """GPU nodes, the GPUs that pods hold on each, and bound pods per bot job."""
        nodes = cast(ObjectList[Node], self.read("list nodes", self.core.list_node)).get("items", [])
        pods = cast(ObjectList[Pod], self.read("list pods", self.core.list_pod_for_all_namespaces)).get("items", [])
        return snapshot_of(nodes, pods, self._short_by_product)

    def managed_jobs(self, kinds: Collection[str] = ()) -> dict[str, JobPhase]:
        """Every bot-managed Job in the cluster, keyed ``namespace/name``; also the bot's objects of the
        custom ``kinds`` (plurals: jobsets, trainjobs), read as Jobs. Only kinds the policy makes are
        asked for: on a cluster without their CRDs, RBAC answers 403 before the 404."""
        listed = cast(ObjectList[Job], self.read(
            "list jobs", self.batch.list_job_for_all_namespaces, label_selector=MANAGED_BY_SELECTOR
        ))
        items = [*listed.get("items", []), *self._custom.managed(self.read, kinds)]
        phases = (phase_of(job) for job in items)
        return {f"{p.namespace}/{p.name}": p for p in phases}

    def job_pods(self, namespace: str, name: str) -> list[Obj]:
        listed = cast(ObjectList[Obj], self.read(
            "list pods", self.core.list_namespaced_pod, namespace,
            label_selector=f"{MANAGED_BY_SELECTOR},{LABEL_NAME}={name}",  # every kind's pods carry both
        ))
        return listed.get("items", [])

    def pod_log(self, namespace: str, pod: str, tail: int) -> str:
        resp = self._call("read logs", self.core.read_namespaced_pod_log, pod, namespace, tail_lines=tail, retry=True)
        return bytes(resp.data).decode("utf-8", errors="replace")

    def _workload_calls(self, kind: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
        """(read, delete) for the workload object of a record ``kind``: a Job, JobSet or TrainJob."""
        if kind in custom.KINDS:
            k = custom.KINDS[kind]
            return custom.read_call(self.custom_api, k), custom.delete_call(self.custom_api, k)
        return self.batch.read_namespaced_job, self.batch.delete_namespaced_job

    def job_exists(self, namespace: str, name: str, *, kind: str = "job") -> bool:
        """A fresh look at one Job: a list taken a moment ago may predate it. One being deleted
        (``deletionTimestamp`` set) still exists."""
        try:
            self._call("read job", self._workload_calls(kind)[0], name, namespace, retry=True)
        except ObjectNotFound:
            return False
        return True

    # --- writing ---------------------------------------------------------------------------------

    def dry_run(self, manifests: list[Obj]) -> None:
        """Server-side dry-run create (retried: it changes nothing); ``DryRunRejected`` says what the
        API server objected to (``NamespaceMissing`` when the namespace itself is missing). A 429 or
        5xx is the cluster being busy, never a refusal."""
        for obj in manifests:
            try:
                self._create(obj, dry_run=True)
            except ObjectNotFound as err:
                if err.namespace is not None:
                    raise NamespaceMissing(err.namespace) from err
                raise
            except Rejected as err:
                if err.status == 409:
                    continue  # the name check belongs to the queue store; the object itself is fine
                raise DryRunRejected("kubernetes", err.reason, status=err.status) from err

    def create(self, manifests: list[Obj], idempotency_key: str) -> None:
        """Create the objects; an object that exists with our idempotency key counts as created."""
        for obj in manifests:
            try:
                self._create(obj, dry_run=False)
            except Rejected as err:
                if err.status != 409:
                    raise
                if not self._ours(obj, idempotency_key):
                    raise AlreadyExistsNotOurs("kubernetes", err.reason, status=409) from err

    def _create(self, obj: Obj, *, dry_run: bool) -> None:
        ns = obj["metadata"]["namespace"]
        kwargs: dict[str, Any] = {"dry_run": "All"} if dry_run else {}
        if obj["kind"] == "Job":
            call: Callable[..., Any] = self.batch.create_namespaced_job
        elif obj["kind"] in custom.BY_OBJECT_KIND:
            call = custom.create_call(self.custom_api, custom.BY_OBJECT_KIND[obj["kind"]])
        elif obj["kind"] == "Service":
            call = self.core.create_namespaced_service
        else:
            raise PermanentBackendError("kubernetes", f"the bot does not create {obj['kind']} objects")
        body: Any = obj  # the client sends plain dicts as they are; its model types are only hints
        # a real create is not retried here: the dispatcher retries it under its lease
        self._call("dry-run create" if dry_run else "create", call, ns, body, retry=dry_run, writes=not dry_run,
                   **kwargs)

    def _ours(self, obj: Obj, idempotency_key: str) -> bool:
        meta = obj["metadata"]
        read = {"Job": self.batch.read_namespaced_job, "Service": self.core.read_namespaced_service}.get(obj["kind"])
        if read is None:
            read = custom.read_call(self.custom_api, custom.BY_OBJECT_KIND[obj["kind"]])
        try:
            existing: Obj = self.read("read", read, meta["name"], meta["namespace"])
        except PermanentBackendError:
            return False
        annotations = existing.get("metadata", {}).get("annotations") or {}
        return bool(annotations.get(IDEMPOTENCY_ANNOTATION) == idempotency_key)

    def _delete(self, what: str, call: Callable[..., Any], name: str, namespace: str, **kwargs: Any) -> bool:
        """Retried (deleting twice deletes once). True when this call deleted it: a 404 after an
        attempt whose answer was lost means that attempt did; a 404 at once, that it was gone."""
        try:
            self._call(what, call, name, namespace, retry=True, writes=True, **kwargs)
        except ObjectNotFound as err:
            return err.ambiguous
        return True

    def delete_job(self, namespace: str, name: str, *, wait_for_pods: bool = False, kind: str = "job") -> bool:
        """Delete a Job and its pods; False when it was already gone. ``wait_for_pods``: Foreground,
        so the Job stays (deleting) until its pods are gone, and its name is free only then.

        When no attempt got an answer that says what happened (a 5xx, a reset), the Job is read
        back: gone or being deleted means the delete was applied. Raises a ``BackendError`` only
        when it is still there or cannot be read (then ``ambiguous``). The Service of a multi-node
        job is deleted after it; failing that is logged, not raised (the Job, which holds the GPUs,
        is gone)."""
        try:
            # a JobSet's or TrainJob's children (Jobs, JobSet, Service, pods) go through their ownerReferences
            deleted = self._delete("delete job", self._workload_calls(kind)[1], name, namespace,
                                   propagation_policy="Foreground" if wait_for_pods else "Background")
        except BackendError as err:
            if not err.ambiguous or self._still_there(namespace, name, err, kind):
                err.ambiguous = False  # read back: it was not applied
                raise
            deleted = True
        if kind != "job":
            return deleted
        try:
            self._delete("delete service", self.core.delete_namespaced_service, name, namespace)
        except BackendError as err:
            log.warning("the Service of %s/%s is left behind: %s", namespace, name, err)
        return deleted

    def _still_there(self, namespace: str, name: str, failed: BackendError, kind: str = "job") -> bool:
        """After a delete whose answer was lost: is the Job there and not being deleted?"""
        try:
            job: Job = self.read("read job", self._workload_calls(kind)[0], name, namespace)
        except ObjectNotFound:
            return False
        except BackendError as err:
            raise failed from err  # still ambiguous: neither the delete nor the read back answered
        return not job.get("metadata", {}).get("deletionTimestamp")

    def set_deadline(self, namespace: str, name: str, active_deadline_s: int) -> bool:
        """Patch a Job's ``activeDeadlineSeconds`` (a mutable field): how long it may be active in all.
        Retried: setting the same value twice is setting it once. False when the Job is gone."""
        body: Any = {"spec": {"activeDeadlineSeconds": int(active_deadline_s)}}
        try:
            self._call("extend job", self.batch.patch_namespaced_job, name, namespace, body, retry=True,
                       writes=True)
        except ObjectNotFound:
            return False
        return True

    def preempt_job(self, namespace: str, name: str, grace_period_s: int, *, kind: str = "job") -> bool:
        """Delete a Job so that its pods get ``grace_period_s`` to checkpoint (SIGTERM, then SIGKILL).

        Deleted rather than suspended: the re-queued job is created afresh when it is admitted again,
        so the one admission path (create) serves first starts and restarts alike. The Service of a
        multi-node job stays: the next create finds it with the same idempotency key. False when
        the Job was already gone.
        """
        return self._delete("preempt job", self._workload_calls(kind)[1], name, namespace,
                            grace_period_seconds=grace_period_s, propagation_policy="Background")
