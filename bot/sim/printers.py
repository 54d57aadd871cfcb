"""The apiserver's printers (pkg/printers/internalversion): one row of cells per object, per kind.

Cells are what ``kubectl get`` shows: the pod's aggregate STATUS and READY, a job's COMPLETIONS and
DURATION, ages as ``HumanDuration``. Priority-1 cells (``-o wide``) are always included, as on the server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.domain.cluster.objects import Obj


def _epoch(ts: str | None) -> float | None:
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def human_duration(seconds: float) -> str:
    """apimachinery's ``duration.HumanDuration``: 45s, 3m20s, 25m, 5h10m, 3d4h, 2y10d."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m" if s % 60 == 0 else f"{minutes}m{s % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h" if minutes % 60 == 0 else f"{hours}h{minutes % 60}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d" if hours % 24 == 0 else f"{hours // 24}d{hours % 24}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def _since(ts: str | None, now: float) -> str:
    t = _epoch(ts)
    return "<unknown>" if t is None else human_duration(now - t)


def _age(obj: Obj, now: float) -> str:
    return _since(obj["metadata"].get("creationTimestamp"), now)


def _selector(sel: Obj | None) -> str:
    """``metav1.FormatLabelSelector``: matchLabels as k=v, expressions as k in (a,b); empty is <none>."""
    if not sel:
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((sel.get("matchLabels") or {}).items())]
    for expr in sel.get("matchExpressions") or []:
        op, values = expr.get("operator", ""), ",".join(expr.get("values") or [])
        key = expr.get("key", "")
        parts.append({"In": f"{key} in ({values})", "NotIn": f"{key} notin ({values})",
                      "Exists": key, "DoesNotExist": f"!{key}"}.get(op, f"{key} {op}"))
    return ",".join(parts) or "<none>"


def _containers(pod_spec: Obj) -> tuple[str, str]:
    cs = pod_spec.get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def pod_row(pod: Obj, now: float) -> list[Any]:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    restarts, ready, running = 0, 0, False
    for cs in reversed(status.get("containerStatuses") or []):
        restarts += int(cs.get("restartCount") or 0)
        state = cs.get("state") or {}
        waiting, terminated = state.get("waiting") or {}, state.get("terminated")
        if waiting.get("reason"):
            reason = waiting["reason"]
        elif terminated is not None and terminated.get("reason"):
            reason = terminated["reason"]
        elif terminated is not None:
            signal = terminated.get("signal")
            reason = f"Signal:{signal}" if signal else f"ExitCode:{terminated.get('exitCode', 0)}"
        elif cs.get("ready") and "running" in state:
            running = True
            ready += 1
    if reason == "Completed" and running:
        ready_cond = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        reason = "Running" if ready_cond else "NotReady"
    if pod["metadata"].get("deletionTimestamp"):
        if status.get("reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"
    ips = status.get("podIPs") or ([{"ip": status["podIP"]}] if status.get("podIP") else [])
    total = len(spec.get("containers") or [])
    gates = spec.get("readinessGates") or []
    if gates:
        true = {c.get("type") for c in status.get("conditions") or [] if c.get("status") == "True"}
        gates_cell = f"{sum(1 for g in gates if g.get('conditionType') in true)}/{len(gates)}"
    else:
        gates_cell = "<none>"
    return [pod["metadata"]["name"], f"{ready}/{total}", reason, str(restarts), _age(pod, now),
            ips[0]["ip"] if ips else "<none>", spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", gates_cell]


def _has(conditions: list[Obj], kind: str) -> bool:
    # the printer looks at the first condition of that type only
    first = next((c for c in conditions if c.get("type") == kind), None)
    return first is not None and first.get("status") == "True"


def job_row(job: Obj, now: float) -> list[Any]:
    spec, status = job.get("spec") or {}, job.get("status") or {}
    succeeded = int(status.get("succeeded") or 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif int(spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    start, end = _epoch(status.get("startTime")), _epoch(status.get("completionTime"))
    took = "" if start is None else human_duration((end if end is not None else now) - start)
    conds = status.get("conditions") or []
    if _has(conds, "Complete"):
        state = "Complete"
    elif _has(conds, "Failed"):
        state = "Failed"
    elif job["metadata"].get("deletionTimestamp"):
        state = "Terminating"
    elif _has(conds, "Suspended"):
        state = "Suspended"
    elif _has(conds, "FailureTarget"):
        state = "FailureTarget"
    else:
        state = "Running"
    names, images = _containers(((spec.get("template") or {}).get("spec")) or {})
    return [job["metadata"]["name"], state, completions, took, _age(job, now), names, images,
            _selector(spec.get("selector"))]


def node_row(node: Obj, now: float) -> list[Any]:
    status, labels = node.get("status") or {}, node["metadata"].get("labels") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    if ready is None:
        state = "Unknown"
    else:
        state = {"True": "Ready", "False": "NotReady"}.get(ready.get("status", ""), "Unknown")
    if (node.get("spec") or {}).get("unschedulable"):
        state += ",SchedulingDisabled"
    roles = sorted({k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/") and "/" in k}
                   | ({labels["kubernetes.io/role"]} if labels.get("kubernetes.io/role") else set()))
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    info = status.get("nodeInfo") or {}
    return [node["metadata"]["name"], state, ",".join(r for r in roles if r) or "<none>", _age(node, now),
            info.get("kubeletVersion", ""), addresses.get("InternalIP") or "<none>",
            addresses.get("ExternalIP") or "<none>", info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>", info.get("containerRuntimeVersion") or "<unknown>"]


def event_row(ev: Obj, now: float) -> list[Any]:
    first = _since(ev.get("firstTimestamp") or ev.get("eventTime"), now)
    last = _since(ev["lastTimestamp"], now) if ev.get("lastTimestamp") else first
    series = ev.get("series")
    count = int((series or {}).get("count") or ev.get("count") or 1)
    if series and series.get("lastObservedTime"):
        last = _since(series["lastObservedTime"], now)
    inv = ev.get("involvedObject") or {}
    target = f"{inv.get('kind', '').lower()}/{inv['name']}" if inv.get("name") else inv.get("kind", "").lower()
    source = ev.get("source") or {}
    component = source.get("component") or ev.get("reportingComponent") or ""
    host = source.get("host") or ev.get("reportingInstance") or ""
    return [last, ev.get("type", ""), ev.get("reason", ""), target, inv.get("fieldPath", ""),
            f"{component}, {host}" if host else component, (ev.get("message") or "").strip(), first, count,
            ev["metadata"]["name"]]


def namespace_row(ns: Obj, now: float) -> list[Any]:
    return [ns["metadata"]["name"], (ns.get("status") or {}).get("phase", ""), _age(ns, now)]


def service_row(svc: Obj, now: float) -> list[Any]:
    spec = svc.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    external = ",".join(spec.get("externalIPs") or []) or "<none>"
    if kind == "LoadBalancer" and external == "<none>":
        external = "<pending>"
    ports = ",".join(
        f"{p.get('port')}:{p['nodePort']}/{p.get('protocol', 'TCP')}" if p.get("nodePort")
        else f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports") or []
    )
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items())) or "<none>"
    return [svc["metadata"]["name"], kind, ips[0] if ips else "<none>", external, ports or "<none>",
            _age(svc, now), selector]
