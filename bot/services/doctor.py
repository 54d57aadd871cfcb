"""``chatops doctor``: is this setup able to run the bot? Each check says what is missing and how to fix it.

The token (auth.test), Redis (PING), each team namespace (a dry-run Job: it exists and the bot may
launch there), the RBAC the bot uses (SelfSubjectAccessReview), the GPU nodes and their product label.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.domain import messages as msg
from bot.domain.cluster.access import CLUSTER_WIDE, PRODUCT_LABEL, TEAM_NAMESPACE, Permission
from bot.domain.errors import BackendError
from bot.domain.policy.config import Policy


class Pings(Protocol):
    def ping(self) -> bool: ...


class ClusterQuestions(Protocol):
    def allowed(self, perm: Permission, namespace: str | None) -> bool: ...

    def can_launch_in(self, namespace: str) -> None: ...

    def gpu_nodes(self) -> dict[str, str | None]: ...


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: a warning, not a failure
    detail: str


def diagnose(policy: Policy, identity: Callable[[], tuple[str, str]], redis: Pings | None,
             cluster: ClusterQuestions | None, cluster_problem: str | None = None) -> list[Check]:
    checks = [_slack(identity), _redis(redis)]
    if cluster is None:
        return [*checks, Check("kubernetes", False, cluster_problem or msg.no_cluster_credentials())]
    try:
        nodes = cluster.gpu_nodes()
    except BackendError as err:  # the first question: when it gets no answer, neither would the others
        return [*checks, Check("kubernetes", False, msg.doctor_cluster_unreachable(str(err)))]
    checks.append(_nodes(policy, nodes))
    checks += [_namespace(cluster, team, t.namespace) for team, t in policy.teams.items()]
    checks.append(_rbac(cluster, sorted({t.namespace for t in policy.teams.values()})))
    return checks


def exit_code(checks: list[Check]) -> int:
    return 1 if any(c.ok is False for c in checks) else 0


def _slack(identity: Callable[[], tuple[str, str]]) -> Check:
    try:
        user, team = identity()
    except BackendError as err:
        return Check("slack token", False, str(err))
    return Check("slack token", True, msg.token_ok(user, team))


def _redis(redis: Pings | None) -> Check:
    if redis is None:
        return Check("redis", False, msg.doctor_redis_embedded())
    try:
        up = redis.ping()
    except BackendError as err:
        return Check("redis", False, msg.doctor_redis_down(str(err)))
    if not up:
        return Check("redis", False, msg.doctor_redis_down("connection refused or timed out"))
    return Check("redis", True, msg.doctor_redis_ok())


def _namespace(cluster: ClusterQuestions, team: str, namespace: str) -> Check:
    name = f"namespace {namespace}"
    try:
        cluster.can_launch_in(namespace)
    except BackendError as err:
        return Check(name, False, msg.doctor_namespace_refused(namespace, team, str(err)))
    return Check(name, True, msg.doctor_namespace_ok(namespace))


def _rbac(cluster: ClusterQuestions, namespaces: list[str]) -> Check:
    wanted: list[tuple[Permission, str | None]] = [(p, None) for p in CLUSTER_WIDE]
    wanted += [(p, ns) for ns in namespaces for p in TEAM_NAMESPACE]
    try:
        missing = [f"{p} {'in ' + ns if ns else 'cluster-wide'}" for p, ns in wanted if not cluster.allowed(p, ns)]
    except BackendError as err:
        return Check("rbac", False, msg.doctor_rbac_unknown(str(err)))
    if missing:
        return Check("rbac", False, msg.doctor_rbac_missing(missing))
    return Check("rbac", True, msg.doctor_rbac_ok(len(wanted)))


def _nodes(policy: Policy, nodes: dict[str, str | None]) -> Check:
    if not nodes:
        return Check("gpu nodes", False, msg.doctor_no_gpu_nodes(PRODUCT_LABEL))
    unlabelled = sorted(n for n, product in nodes.items() if product is None)
    if unlabelled:
        return Check("gpu nodes", False, msg.doctor_unlabelled(unlabelled, PRODUCT_LABEL))
    short = {product: name for name, product in policy.gpu_types.items()}
    counts: dict[str, int] = {}
    for product in nodes.values():
        assert product is not None
        counts[product] = counts.get(product, 0) + 1
    unknown = sorted(p for p in counts if p not in short)
    if unknown:
        return Check("gpu nodes", None, msg.doctor_unknown_products(unknown))
    return Check("gpu nodes", True, msg.doctor_nodes_ok(
        ", ".join(f"{n} × {short[p]} ({p})" for p, n in sorted(counts.items()))))
