"""``chatops doctor``: the live checks of bot/services/doctor.py, wired to the real adapters."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from functools import cache, partial

from bot.adapters.kube.access import ClusterAccess
from bot.adapters.kube.client import KubeCluster
from bot.adapters.redis.stores import RedisStores
from bot.adapters.slack.web import bot_identity
from bot.domain import messages as msg
from bot.domain.errors import BackendError, ConfigError
from bot.domain.policy.config import Policy, load_policy
from bot.services.doctor import Check, Pings, diagnose, exit_code
from bot.settings import Settings


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    path = args.config or settings.chatops_config
    if not path:
        return _report("no policy", [Check("policy", False, msg.setting_missing("CHATOPS_CONFIG"))])
    try:
        policy = load_policy(path)
    except ConfigError as err:
        return _report(path, [Check("policy", False, p) for p in err.problems])
    redis: Pings | None = None
    redis_problem: Check | None = None
    if settings.redis_url is not None:
        try:
            redis = RedisStores.connect(Settings.reveal(settings.redis_url), policy.redis_prefix).queue
        except BackendError as err:
            redis_problem = Check("redis", False, msg.doctor_redis_down(str(err)))
    # asked once, even when each of several clusters is diagnosed
    identity = cache(partial(bot_identity, Settings.reveal(settings.slack_bot_token), settings.slack_api_url))
    if len(policy.clusters) > 1:
        checks = _each_cluster(policy, settings.kubeconfig, identity, redis)
    else:
        context = next(iter(policy.clusters.values())).context if policy.clusters else None
        checks = _one_cluster(policy, settings.kubeconfig, context, identity, redis)
    if redis_problem is not None:
        checks = [redis_problem if c.name == "redis" else c for c in checks]
    return _report(path, checks)


def _one_cluster(policy: Policy, kubeconfig: str | None, context: str | None,
                 identity: Callable[[], tuple[str, str]], redis: Pings | None) -> list[Check]:
    kube: KubeCluster | None = None
    cluster_problem = None
    try:
        kube = KubeCluster.from_env(policy.gpu_types, kubeconfig, context)
    except BackendError as err:
        cluster_problem = msg.doctor_cluster_unreachable(str(err))
    try:
        return diagnose(policy, identity, redis, ClusterAccess(kube) if kube else None, cluster_problem)
    finally:
        if kube is not None:
            kube.close()


def _each_cluster(policy: Policy, kubeconfig: str | None, identity: Callable[[], tuple[str, str]],
                  redis: Pings | None) -> list[Check]:
    """Several clusters: the cluster checks once per cluster (its context, the namespaces and GPU types it
    serves), named after it; Slack and Redis once."""
    out: list[Check] = []
    for name, entry in policy.clusters.items():
        served = policy.model_copy(update={
            "teams": {t: team for t, team in policy.teams.items()
                      if entry.namespaces is None or team.namespace in entry.namespaces},
            "gpu_types": {t: p for t, p in policy.gpu_types.items()
                          if entry.gpu_types is None or t in entry.gpu_types}})
        checks = _one_cluster(served, kubeconfig, entry.context, identity, redis)
        shared = [c for c in checks if c.name in _ONCE]
        out = (out or shared) + [replace(c, name=f"{name}: {c.name}") for c in checks if c.name not in _ONCE]
    return out


_ONCE = ("slack token", "redis")  # checked once, not per cluster


def _report(what: str, checks: list[Check]) -> int:
    print(msg.doctor_heading(what))
    for c in checks:
        print(msg.doctor_line(c.ok, c.name, c.detail))
    print(msg.doctor_summary(sum(c.ok is False for c in checks), sum(c.ok is None for c in checks)))
    return exit_code(checks)
