"""Create-time validation and defaulting, a subset of what kube-apiserver does, worded like it."""

from __future__ import annotations

import random
import re
import uuid
from typing import Any

from bot.domain.cluster.objects import Obj
from bot.sim.namespaces import default_namespace
from bot.sim.status import Resource, invalid

GPU = "nvidia.com/gpu"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_RAND_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the apiserver's generateName alphabet (no vowels)


def rand_suffix(n: int = 5) -> str:
    return "".join(random.choices(_RAND_ALPHABET, k=n))


def _name_problems(res: Resource, name: str) -> list[tuple[str, str]]:
    # Job names become label values; Services and Namespaces are DNS labels
    label_only = res.plural in ("jobs", "services", "namespaces", "jobsets", "trainjobs")
    limit = 63 if label_only else 253
    pattern = _DNS_LABEL if label_only else _DNS_SUBDOMAIN
    problems: list[tuple[str, str]] = []
    if len(name) > limit:
        problems.append(
            ("metadata.name", f"Invalid value: {name!r}: must be no more than {limit} characters")
        )
    if not pattern.match(name):
        problems.append(
            (
                "metadata.name",
                f"Invalid value: {name!r}: a lowercase RFC 1123 label must consist of lower case "
                "alphanumeric characters or '-', and must start and end with an alphanumeric character",
            )
        )
    return problems


def _normalize_quantities(resources: Obj) -> None:
    # The apiserver answers quantities as strings; the typed client rejects ints there.
    for key in ("limits", "requests"):
        values = resources.get(key)
        if isinstance(values, dict):
            resources[key] = {k: str(v) for k, v in values.items()}


def _pod_spec_problems(spec: Any, path: str) -> list[tuple[str, str]]:
    if not isinstance(spec, dict):
        return [(path, "Required value")]
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        return [(f"{path}.containers", "Required value")]
    problems: list[tuple[str, str]] = []
    for i, c in enumerate(containers):
        cpath = f"{path}.containers[{i}]"
        if not isinstance(c, dict):
            problems.append((cpath, "Invalid value: must be an object"))
            continue
        if not c.get("name"):
            problems.append((f"{cpath}.name", "Required value"))
        if not str(c.get("image") or "").strip():
            problems.append((f"{cpath}.image", "Required value"))
        resources = c.setdefault("resources", {})
        _normalize_quantities(resources)
        for key in ("limits", "requests"):
            raw = (resources.get(key) or {}).get(GPU)
            if raw is not None and (not str(raw).isdigit() or int(raw) <= 0):
                problems.append(
                    (
                        f"{cpath}.resources.{key}[{GPU}]",
                        f"Invalid value: {raw!r}: must be a positive integer",
                    )
                )
    return problems


def _int_field(spec: Obj, key: str, path: str, minimum: int) -> list[tuple[str, str]]:
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        return [(f"{path}.{key}", f"Invalid value: {value!r}: must be greater than or equal to {minimum}")]
    return []


def _job_problems(job: Obj) -> list[tuple[str, str]]:
    spec = job.get("spec")
    if not isinstance(spec, dict):
        return [("spec", "Required value")]
    template = spec.get("template")
    if not isinstance(template, dict):
        return [("spec.template", "Required value")]
    pod_spec = template.get("spec")
    problems = _pod_spec_problems(pod_spec, "spec.template.spec")
    if isinstance(pod_spec, dict) and pod_spec.get("restartPolicy") not in ("Never", "OnFailure"):
        problems.append(
            (
                "spec.template.spec.restartPolicy",
                f"Unsupported value: {pod_spec.get('restartPolicy')!r}: "
                'supported values: "OnFailure", "Never"',
            )
        )
    for key, minimum in (
        ("completions", 0),
        ("parallelism", 0),
        ("backoffLimit", 0),
        ("activeDeadlineSeconds", 1),
    ):
        problems += _int_field(spec, key, "spec", minimum)
    mode = spec.get("completionMode", "NonIndexed")
    if mode not in ("NonIndexed", "Indexed"):
        problems.append(("spec.completionMode", f"Unsupported value: {mode!r}"))
    return problems


def prepare_create(res: Resource, obj: Obj, namespace: str) -> Obj:
    """Validate and default ``obj`` for creation in ``namespace``; raises ``ApiError`` 422."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = f"{meta['generateName']}{rand_suffix()}"
    name = str(meta.get("name") or "")
    if not name:
        raise invalid(res, "", [("metadata.name", "Required value: name or generateName is required")])
    problems = _name_problems(res, name)
    if res.plural == "jobs":
        problems += _job_problems(obj)
    elif res.plural == "pods":
        problems += _pod_spec_problems(obj.get("spec"), "spec")
    if problems:
        raise invalid(res, name, problems)
    obj["kind"], obj["apiVersion"] = res.kind, res.api_version
    if res.namespaced:
        meta["namespace"] = namespace
    for key in ("resourceVersion", "creationTimestamp", "deletionTimestamp"):
        meta.pop(key, None)
    meta["uid"] = str(uuid.uuid4())
    if res.plural == "jobs":
        _default_job(obj)
    elif res.plural == "pods":
        obj["spec"].setdefault("restartPolicy", "Always")
        obj.setdefault("status", {})["phase"] = "Pending"
    elif res.plural == "namespaces":
        default_namespace(obj)
    elif res.plural == "services":
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        if spec.get("clusterIP") != "None":
            spec["clusterIP"] = f"10.96.{random.randint(0, 255)}.{random.randint(1, 254)}"
        spec["clusterIPs"] = [spec["clusterIP"]]
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
    return obj


def _default_job(job: Obj) -> None:
    meta, spec = job["metadata"], job["spec"]
    uid = meta["uid"]
    spec.setdefault("completions", 1)
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    added = {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": meta["name"],
        "controller-uid": uid,
        "job-name": meta["name"],
    }
    spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
    tmeta = spec["template"].setdefault("metadata", {})
    tmeta["labels"] = {**(tmeta.get("labels") or {}), **added}
    meta["labels"] = {**added, **(meta.get("labels") or {})}
    job["status"] = {}
