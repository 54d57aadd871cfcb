"""The Kubernetes adapter: the only module that imports ``kubernetes``.

Responses are read raw (``_preload_content=False``) and parsed as plain JSON dicts: the
client's model deserialisation costs milliseconds per object, too slow for thousands of pods.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from bot import metrics
from bot.adapters.kube.watch import KindWatch, OnEvent, OnReset
from bot.domain.cluster.manifests import MANAGED_BY_SELECTOR
from bot.domain.cluster.snapshot import JobPhase, Snapshot
from bot.domain.cluster.watch_spec import WatchSpec
from bot.domain.errors import (
    AlreadyExistsNotOurs,
    DryRunRejected,
    NamespaceMissing,
    PermanentBackendError,
    TransientBackendError,
)
from bot.domain.resources import quantity_value
from bot.domain.scheduling.model import ClusterFacts, NodeFacts

GPU = "nvidia.com/gpu"
PRODUCT_LABEL = "nvidia.com/gpu.product"
JOB_NAME_LABELS = ("batch.kubernetes.io/job-name", "job-name")
IDEMPOTENCY_ANNOTATION = "chatops.io/idempotency-key"


def _quantity(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def _amount(value: Any) -> Decimal:
    """A node's allocatable cpu or memory in cores or bytes; 0 when absent or unreadable."""
    try:
        return quantity_value(str(value)) if value is not None else Decimal(0)
    except ValueError:
        return Decimal(0)


def _wrap(err: Exception, what: str) -> Exception:
    metrics.KUBE_ERRORS.labels(what, type(err).__name__ if not isinstance(err, ApiException) else str(err.status)).inc()
    if isinstance(err, ApiException):
        if err.status is None or err.status >= 500 or err.status == 429:
            return TransientBackendError(f"Kubernetes API {what}: HTTP {err.status} {err.reason}")
        return PermanentBackendError(f"Kubernetes API {what}: HTTP {err.status} {_status_message(err)}")
    return TransientBackendError(f"Kubernetes API {what}: {type(err).__name__}")


def _missing_namespace(err: ApiException) -> str | None:
    """The namespace a 404 names when the namespace itself is missing (NamespaceLifecycle admission)."""
    if err.status != 404:
        return None
    try:
        details = json.loads(err.body or "{}").get("details") or {}
    except (ValueError, AttributeError):
        return None
    if details.get("kind") == "namespaces" and not details.get("group") and details.get("name"):
        return str(details["name"])
    return None


def _status_message(err: ApiException) -> str:
    try:
        return str(json.loads(err.body or "{}").get("message") or err.reason)
    except (ValueError, AttributeError):
        return str(err.reason)


class KubeCluster:
    def __init__(self, api_client: k8s.ApiClient, gpu_types: Mapping[str, str]) -> None:
        self.api_client = api_client
        self.core = k8s.CoreV1Api(api_client)
        self.batch = k8s.BatchV1Api(api_client)
        self._short_by_product = {product: short for short, product in gpu_types.items()}

    @classmethod
    def from_env(cls, gpu_types: Mapping[str, str], kubeconfig: str | None = None) -> KubeCluster:
        """From ``KUBECONFIG`` (or the given file), else the in-cluster service account."""
        try:
            if kubeconfig:
                configuration = k8s.Configuration()
                k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=kubeconfig, client_configuration=configuration
                )
            else:
                configuration = k8s.Configuration()
                k8s_config.load_incluster_config(  # type: ignore[no-untyped-call]
                    client_configuration=configuration
                )
        except (k8s_config.ConfigException, OSError) as err:
            raise PermanentBackendError(f"cannot configure the Kubernetes client: {err}") from err
        return cls(k8s.ApiClient(configuration), gpu_types)

    @classmethod
    def from_url(cls, url: str, gpu_types: Mapping[str, str]) -> KubeCluster:
        configuration = k8s.Configuration(host=url)
        return cls(k8s.ApiClient(configuration), gpu_types)

    def close(self) -> None:
        self.api_client.close()  # type: ignore[no-untyped-call]

    # --- reading ---------------------------------------------------------------------------------

    def _raw(self, what: str, call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            resp = call(*args, _preload_content=False, _request_timeout=30, **kwargs)
            data: dict[str, Any] = json.loads(resp.data)
            return data
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as err:
            raise _wrap(err, what) from err

    def watch(self, spec: WatchSpec, on_reset: OnReset, on_event: OnEvent) -> KindWatch:
        """One list-then-watch loop for ``spec`` (run it on a thread of its own; ``stop`` ends it)."""
        return KindWatch(self.api_client, spec, on_reset, on_event)

    def snapshot(self) -> Snapshot:
        """GPU nodes, the GPUs that pods hold on each, and bound pods per bot job."""
        nodes = self._raw("list nodes", self.core.list_node)["items"]
        pods = self._raw("list pods", self.core.list_pod_for_all_namespaces)["items"]
        facts = ClusterFacts()
        for node in nodes:
            meta, status = node["metadata"], node.get("status", {})
            product = meta.get("labels", {}).get(PRODUCT_LABEL)
            ready = any(
                c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions", [])
            )
            alloc = status.get("allocatable", {})
            facts.nodes.append(
                NodeFacts(
                    name=meta["name"],
                    gpu_type=self._short_by_product.get(product) if product else None,
                    allocatable=_quantity(alloc.get(GPU, 0)),
                    ready=ready or not status.get("conditions"),
                    cpu=float(_amount(alloc.get("cpu"))),
                    memory=int(_amount(alloc.get("memory"))),
                )
            )
        bound: dict[str, int] = {}
        held: dict[str, dict[str, int]] = {}
        for pod in pods:
            spec, status = pod.get("spec", {}), pod.get("status", {})
            node_name = spec.get("nodeName")
            if not node_name or status.get("phase") in ("Succeeded", "Failed"):
                continue
            gpus = sum(
                _quantity(c.get("resources", {}).get("limits", {}).get(GPU, 0)) for c in spec.get("containers", [])
            )
            facts.used[node_name] = facts.used.get(node_name, 0) + gpus
            labels = pod["metadata"].get("labels", {})
            job = next((labels[k] for k in JOB_NAME_LABELS if k in labels), None)
            if job and labels.get("app.kubernetes.io/managed-by") == "gpu-chatops":
                key = f"{pod['metadata']['namespace']}/{job}"
                bound[key] = bound.get(key, 0) + 1
                on_node = held.setdefault(key, {})
                on_node[node_name] = on_node.get(node_name, 0) + gpus
        return Snapshot(facts, bound, held)

    def managed_jobs(self) -> dict[str, JobPhase]:
        """Every bot-managed Job in the cluster, keyed ``namespace/name``."""
        items = self._raw(
            "list jobs", self.batch.list_job_for_all_namespaces, label_selector=MANAGED_BY_SELECTOR
        )["items"]
        out: dict[str, JobPhase] = {}
        for job in items:
            meta, status = job["metadata"], job.get("status", {})
            finished, reason = None, None
            for cond in status.get("conditions", []) or []:
                if cond.get("status") != "True":
                    continue
                if cond.get("type") == "Complete":
                    finished, reason = "succeeded", None
                elif cond.get("type") == "Failed":
                    finished, reason = "failed", cond.get("reason") or cond.get("message")
            key = f"{meta['namespace']}/{meta['name']}"
            suspended = bool(job.get("spec", {}).get("suspend"))
            deleting = bool(meta.get("deletionTimestamp"))
            idem = (meta.get("annotations") or {}).get(IDEMPOTENCY_ANNOTATION)
            out[key] = JobPhase(meta["namespace"], meta["name"], finished, reason, suspended, deleting, idem)
        return out

    def job_pods(self, namespace: str, name: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self._raw(
            "list pods", self.core.list_namespaced_pod, namespace, label_selector=f"job-name={name}"
        )["items"]
        return items

    def pod_log(self, namespace: str, pod: str, tail: int) -> str:
        try:
            resp: Any = self.core.read_namespaced_pod_log(
                pod, namespace, tail_lines=tail, _preload_content=False, _request_timeout=30
            )
            return bytes(resp.data).decode("utf-8", errors="replace")
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as err:
            raise _wrap(err, "read logs") from err

    # --- writing ---------------------------------------------------------------------------------

    def dry_run(self, manifests: list[dict[str, Any]]) -> None:
        """Server-side dry-run create; a refusal says what the API server objected to."""
        for obj in manifests:
            try:
                self._create(obj, dry_run=True)
            except ApiException as err:
                if err.status == 409:
                    continue  # the name check belongs to the queue store; the object itself is fine
                missing = _missing_namespace(err)
                if missing is not None:
                    raise NamespaceMissing(missing) from err
                if err.status is not None and 400 <= err.status < 500:
                    raise DryRunRejected(_status_message(err)) from err
                raise _wrap(err, "dry-run create") from err
            except (urllib3.exceptions.HTTPError, OSError) as err:
                raise _wrap(err, "dry-run create") from err

    def create(self, manifests: list[dict[str, Any]], idempotency_key: str) -> None:
        """Create the objects; an object that exists with our idempotency key counts as created."""
        for obj in manifests:
            try:
                self._create(obj, dry_run=False)
            except ApiException as err:
                if err.status == 409 and self._ours(obj, idempotency_key):
                    continue
                if err.status == 409:
                    raise AlreadyExistsNotOurs(_status_message(err)) from err
                raise _wrap(err, "create") from err
            except (urllib3.exceptions.HTTPError, OSError) as err:
                raise _wrap(err, "create") from err

    def _create(self, obj: dict[str, Any], *, dry_run: bool) -> None:
        ns = obj["metadata"]["namespace"]
        kwargs: dict[str, Any] = {"_preload_content": False, "_request_timeout": 30}
        if dry_run:
            kwargs["dry_run"] = "All"
        body: Any = obj  # the client sends plain dicts as they are; its model types are only hints
        if obj["kind"] == "Job":
            self.batch.create_namespaced_job(ns, body, **kwargs)
        elif obj["kind"] == "Service":
            self.core.create_namespaced_service(ns, body, **kwargs)
        else:
            raise PermanentBackendError(f"the bot does not create {obj['kind']} objects")

    def _ours(self, obj: dict[str, Any], idempotency_key: str) -> bool:
        meta = obj["metadata"]
        read = self.batch.read_namespaced_job if obj["kind"] == "Job" else self.core.read_namespaced_service
        try:
            existing = self._raw("read", read, meta["name"], meta["namespace"])
        except PermanentBackendError:
            return False
        annotations = existing.get("metadata", {}).get("annotations") or {}
        return bool(annotations.get(IDEMPOTENCY_ANNOTATION) == idempotency_key)

    def job_exists(self, namespace: str, name: str) -> bool:
        """A fresh look at one Job: a list taken a moment ago may predate it."""
        try:
            self.batch.read_namespaced_job(name, namespace, _preload_content=False, _request_timeout=30)
        except ApiException as err:
            if err.status == 404:
                return False
            raise _wrap(err, "read job") from err
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise _wrap(err, "read job") from err
        return True

    def delete_job(self, namespace: str, name: str, *, wait_for_pods: bool = False) -> bool:
        """Delete a Job and its pods; False when it was already gone. ``wait_for_pods``: Foreground,
        so the Job stays (deleting) until its pods are gone, and its name is free only then."""
        try:
            self.batch.delete_namespaced_job(
                name, namespace, propagation_policy="Foreground" if wait_for_pods else "Background",
                _preload_content=False, _request_timeout=30,
            )
        except ApiException as err:
            if err.status == 404:
                return False
            raise _wrap(err, "delete job") from err
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise _wrap(err, "delete job") from err
        try:
            self.core.delete_namespaced_service(name, namespace, _preload_content=False, _request_timeout=30)
        except ApiException as err:
            if err.status != 404:
                raise _wrap(err, "delete service") from err
        return True

    def preempt_job(self, namespace: str, name: str, grace_period_s: int) -> bool:
        """Delete a Job so that its pods get ``grace_period_s`` to checkpoint (SIGTERM, then SIGKILL).

        Deleted rather than suspended: the re-queued job is created afresh when it is admitted again,
        so the one admission path (create) serves first starts and restarts alike. The Service of a
        multi-node job stays: the next create finds it with the same idempotency key. False when
        the Job was already gone.
        """
        try:
            self.batch.delete_namespaced_job(
                name, namespace, grace_period_seconds=grace_period_s, propagation_policy="Background",
                _preload_content=False, _request_timeout=30,
            )
        except ApiException as err:
            if err.status == 404:
                return False
            raise _wrap(err, "preempt job") from err
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise _wrap(err, "preempt job") from err
        return True
