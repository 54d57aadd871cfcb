"""Server-side printing (``Accept: application/json;as=Table;v=v1;g=meta.k8s.io``), as kube-apiserver does.

The column definitions of the apiserver's printers for the kinds served (the cells are in ``printers``);
priority-1 columns are what ``kubectl get -o wide`` adds. Ages count on the simulated clock.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.domain.cluster.objects import Obj
from bot.sim.printers import event_row, job_row, namespace_row, node_row, pod_row, service_row
from bot.sim.status import bad_request

Row = Callable[[Obj, float], list[Any]]

_NAME = "Name must be unique within a namespace. Is required when creating resources, although some resources " \
    "may allow a client to request the generation of an appropriate name automatically."
_AGE = "CreationTimestamp is a timestamp representing the server time when this object was created."


def _col(name: str, description: str, priority: int = 0, kind: str = "string", fmt: str = "") -> Obj:
    return {"name": name, "type": kind, "format": fmt, "description": description, "priority": priority}


def _name_col() -> Obj:
    return _col("Name", _NAME, fmt="name")


_CONTAINERS = "Names of each container in the template."
_IMAGES = "Images referenced by each container in the template."
PRINTERS: dict[str, tuple[list[Obj], Row]] = {
    "pods": ([
        _name_col(),
        _col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        _col("Status", "The aggregate status of the containers in this pod."),
        _col("Restarts", "The number of times the containers in this pod have been restarted and when the last "
                         "container in this pod has restarted."),
        _col("Age", _AGE),
        _col("IP", "podIP address allocated to the pod.", 1),
        _col("Node", "NodeName indicates in which node this pod is scheduled.", 1),
        _col("Nominated Node", "nominatedNodeName is set when this pod preempts other pods on the node.", 1),
        _col("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", 1),
    ], pod_row),
    "jobs": ([
        _name_col(),
        _col("Status", "Status of the job."),
        _col("Completions", "The number of pods which reached phase Succeeded."),
        _col("Duration", "Time required to complete the job."),
        _col("Age", _AGE),
        _col("Containers", _CONTAINERS, 1),
        _col("Images", _IMAGES, 1),
        _col("Selector", "A label query over pods that should match the pod count.", 1),
    ], job_row),
    "nodes": ([
        _name_col(),
        _col("Status", "The status of the node"),
        _col("Roles", "The roles of the node"),
        _col("Age", _AGE),
        _col("Version", "Kubelet Version reported by the node."),
        _col("Internal-IP", "List of addresses reachable to the node.", 1),
        _col("External-IP", "List of addresses reachable to the node.", 1),
        _col("OS-Image", "OS Image reported by the node from /etc/os-release.", 1),
        _col("Kernel-Version", "Kernel Version reported by the node from 'uname -r'.", 1),
        _col("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote API.", 1),
    ], node_row),
    "events": ([
        _col("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
        _col("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
        _col("Reason", "This should be a short, machine understandable string that gives the reason for the "
                       "transition into the object's current status."),
        _col("Object", "The object that this event is about."),
        _col("Subobject", "If referring to a piece of an object instead of an entire object, this string should "
                          "contain a valid JSON/Go field access statement.", 1),
        _col("Source", "The component reporting this event.", 1),
        _col("Message", "A human-readable description of the status of this operation."),
        _col("First Seen", "The time at which the event was first recorded.", 1),
        _col("Count", "The number of times this event has occurred.", 1),
        _col("Name", _NAME, 1, fmt="name"),
    ], event_row),
    "namespaces": ([_name_col(), _col("Status", "The status of the namespace"), _col("Age", _AGE)],
                   namespace_row),
    "services": ([
        _name_col(),
        _col("Type", "type determines how the Service is exposed."),
        _col("Cluster-IP", "clusterIP is the IP address of the service."),
        _col("External-IP", "externalIPs is a list of IP addresses for which nodes in the cluster will also "
                            "accept traffic for this service."),
        _col("Port(s)", "The list of ports that are exposed by this service."),
        _col("Age", _AGE),
        _col("Selector", "Route service traffic to pods with label keys and values matching this selector.", 1),
    ], service_row),
}


def table_version(accept: str) -> str | None:
    """``meta.k8s.io/v1`` (or v1beta1) when the Accept header asks for a Table, else None."""
    for part in accept.split(","):
        params = dict(p.strip().split("=", 1) for p in part.split(";")[1:] if "=" in p)
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io" and params.get("v") in ("v1", "v1beta1"):
            return f"meta.k8s.io/{params['v']}"
    return None


def _row_object(obj: Obj, include: str, api_version: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": obj["metadata"]}


def table(plural: str, objects: list[Obj], now: float, api_version: str, include: str = "Metadata",
          meta: Obj | None = None) -> Obj:
    """A ``Table`` of ``objects``; ``include`` is the ``includeObject`` parameter (None, Metadata, Object)."""
    if include not in ("None", "Metadata", "Object"):
        raise bad_request(f'invalid includeObject {include!r}: use "None", "Metadata" or "Object"')
    columns, row = PRINTERS[plural]
    rows: list[Obj] = []
    for obj in objects:
        entry: Obj = {"cells": row(obj, now)}
        phase = (obj.get("status") or {}).get("phase") if plural == "pods" else None
        if phase in ("Succeeded", "Failed"):
            message = "The pod has completed successfully." if phase == "Succeeded" else "The pod failed."
            entry["conditions"] = [{"type": "Completed", "status": "True", "reason": phase, "message": message}]
        found = _row_object(obj, include, api_version)
        if found is not None:
            entry["object"] = found
        rows.append(entry)
    return {"kind": "Table", "apiVersion": api_version, "metadata": meta or {}, "columnDefinitions": columns,
            "rows": rows}
