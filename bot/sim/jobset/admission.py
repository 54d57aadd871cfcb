"""What JobSet's webhook does on create (``pkg/webhooks/jobset_webhook.go``): defaults, then checks."""

from __future__ import annotations

from bot.domain.cluster.objects import Obj

Problems = list[tuple[str, str]]


def default(js: Obj) -> None:
    spec = js.setdefault("spec", {})
    spec.setdefault("successPolicy", {"operator": "All"})
    spec.setdefault("startupPolicy", {"startupPolicyOrder": "AnyOrder"})
    network = spec.setdefault("network", {})
    network.setdefault("enableDNSHostnames", True)
    network.setdefault("publishNotReadyAddresses", True)
    for rjob in spec.get("replicatedJobs") or []:
        if not isinstance(rjob, dict):
            continue
        rjob.setdefault("replicas", 1)
        job_spec = rjob.setdefault("template", {}).setdefault("spec", {})
        job_spec.setdefault("completionMode", "Indexed")
        pod_spec = job_spec.setdefault("template", {}).setdefault("spec", {})
        pod_spec.setdefault("restartPolicy", "OnFailure")
    js["status"] = {"restarts": 0}


def problems(js: Obj) -> Problems:
    spec = js.get("spec") or {}
    rjobs = spec.get("replicatedJobs")
    if not isinstance(rjobs, list) or not rjobs:
        return [("spec.replicatedJobs", "Required value")]
    out: Problems = []
    names = [r.get("name") for r in rjobs if isinstance(r, dict)]
    if len(set(names)) != len(names):
        out.append(("spec.replicatedJobs", "Invalid value: replicatedJob names must be unique"))
    for i, rjob in enumerate(rjobs):
        path = f"spec.replicatedJobs[{i}]"
        if not isinstance(rjob, dict) or not rjob.get("name"):
            out.append((f"{path}.name", "Required value"))
            continue
        job_spec = ((rjob.get("template") or {}).get("spec")) or {}
        if not ((job_spec.get("template") or {}).get("spec") or {}).get("containers"):
            out.append((f"{path}.template.spec.template.spec.containers", "Required value"))
        if (spec.get("network") or {}).get("enableDNSHostnames") and job_spec.get("completionMode") != "Indexed":
            out.append((f"{path}.template.spec.completionMode",
                        "Invalid value: enableDNSHostnames requires job completionMode to be Indexed"))
    restarts = (spec.get("failurePolicy") or {}).get("maxRestarts", 0)
    if not isinstance(restarts, int) or restarts < 0:
        out.append(("spec.failurePolicy.maxRestarts", f"Invalid value: {restarts!r}: must be >= 0"))
    return out
