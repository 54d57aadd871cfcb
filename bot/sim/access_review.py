"""``POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews``: the sim has no RBAC, so every
request is allowed, except those a test denies (``SimServer.denied_access``) to play a cluster whose
RBAC lacks a rule. The answer has the real API's shape: the review back, with ``status.allowed``."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from bot.sim import status as st

PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
# (verb, group, resource or resource/subresource, namespace or "")
Denial = tuple[str, str, str, str]


def review(path: str, body: Any, denied: Collection[Denial]) -> dict[str, Any] | None:
    """The review's answer, or None when ``path`` is not the access review route."""
    if path.rstrip("/") != PATH:
        return None
    spec = body.get("spec") if isinstance(body, dict) else None
    attrs = spec.get("resourceAttributes") if isinstance(spec, dict) else None
    if not isinstance(attrs, dict):
        raise st.ApiError(400, "BadRequest", "spec.resourceAttributes: Required value")
    resource = str(attrs.get("resource", ""))
    if attrs.get("subresource"):
        resource += f"/{attrs['subresource']}"
    key = (str(attrs.get("verb", "")), str(attrs.get("group", "")), resource, str(attrs.get("namespace", "")))
    allowed = key not in denied
    status: dict[str, Any] = {"allowed": allowed}
    if not allowed:
        status["reason"] = "denied by the simulated cluster's test setup"
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "metadata": {"creationTimestamp": None}, "spec": spec, "status": status}
