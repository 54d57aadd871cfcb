"""Reading Kueue through the API server: Workloads (the bot's jobs' admission state) and the visibility
API's pending positions. Kueue's objects are custom resources: plain dicts, no client models."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from kubernetes import client as k8s

from bot.adapters.kube.calls import RetryPolicy
from bot.domain.cluster.kueue import GROUP
from bot.domain.cluster.kueue_workloads import WorkloadView, read_workload

VERSION = "v1beta2"
VISIBILITY = f"/apis/visibility.{GROUP}/{VERSION}"
TIMEOUT = (5, 30)


def workload_lister(api_client: k8s.ApiClient) -> Callable[..., Any]:
    """The cluster-wide list/watch call for Workloads, shaped like the typed clients' calls."""
    return functools.partial(k8s.CustomObjectsApi(api_client).list_cluster_custom_object, GROUP, VERSION, "workloads")


def workloads(api_client: k8s.ApiClient, policy: RetryPolicy) -> dict[str, WorkloadView]:
    """``ns/job`` → the view of the Workload Kueue made for that Job."""
    call = workload_lister(api_client)
    resp = policy.run("list workloads", lambda: call(_preload_content=False, _request_timeout=TIMEOUT), retry=True)
    out: dict[str, WorkloadView] = {}
    for item in json.loads(resp.data).get("items") or []:
        view = read_workload(item)
        if view is not None:
            out[view.key] = view
    return out


def pending_positions(api_client: k8s.ApiClient, policy: RetryPolicy, namespace: str,
                      queue: str) -> dict[str, int]:
    """Job name → its position in the ClusterQueue, for the LocalQueue's pending Workloads."""
    path = f"{VISIBILITY}/namespaces/{namespace}/localqueues/{queue}/pendingworkloads"

    def get() -> Any:
        # No typed client for the visibility group: the generic call, with the same auth and errors.
        method, url, headers, body, post = api_client.param_serialize(
            "GET", path, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"])
        resp = api_client.call_api(method, url, headers, body, post, _request_timeout=TIMEOUT)
        resp.read()  # type: ignore[no-untyped-call]
        if not 200 <= resp.status <= 299:
            raise k8s.ApiException(http_resp=resp)
        return resp.data

    data = policy.run("read pending workloads", get, retry=True)
    out: dict[str, int] = {}
    for item in json.loads(data).get("items") or []:
        owner = next((o for o in item["metadata"].get("ownerReferences") or [] if o.get("kind") == "Job"), None)
        if owner is not None:
            out[str(owner["name"])] = int(item.get("positionInClusterQueue", 0))
    return out
