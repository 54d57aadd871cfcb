"""Wiring for ``chatops console`` and ``chatops demo``: the bot in this process, its Slack replaced
by the console's surface, and (for the demo) a simulated cluster and the example policy.

The bot is the production one (``bot.app.Bot``) in HTTP mode: the console signs its requests with
a secret made for this run, and the bot verifies them as it verifies Slack's.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources

from pydantic import SecretStr

from bot.adapters.kube.client import KubeCluster
from bot.app import Bot
from bot.console.payloads import BotLink
from bot.console.session import Console
from bot.domain import messages as msg
from bot.domain.policy.config import Policy, load_policy
from bot.settings import Settings
from bot.sim.apiserver import SimServer
from bot.sim.cluster import SimCluster, node_specs
from bot.sim.slack.web_api import FakeSlack

# A mixed cluster, so that GPU types, fitting and queueing all show: 4 × 8 H100 and 2 × 4 L40S.
DEMO_GROUPS = ((4, 8, "h100"), (2, 4, "l40s"))
# Simulated seconds per real second. Slow enough that a job runs for minutes (a default 5-minute job
# takes 2.5): there is time to look at it and stop it; the OOM example says SIM_DURATION=1m.
DEMO_SPEED = 2.0
# The dispatcher notices finished jobs on its passes; a short interval keeps the demo lively.
DEMO_SAFETY_INTERVAL_S = 1.0
CONSOLE_SAFETY_INTERVAL_S = 5.0


def example_policy() -> Policy:
    """The example policy shipped inside the package (a copy of examples/chatops.yaml)."""
    with resources.as_file(resources.files("bot.console").joinpath("demo_policy.yaml")) as path:
        return load_policy(path)


def demo_groups(policy: Policy) -> list[tuple[int, int, str]]:
    """(nodes, GPUs per node, GPU type) of the demo cluster: the demo's mix where the policy has those
    types, else 4 × 8 of the policy's first type (so ``--config`` with other GPU types still has GPUs)."""
    groups = [(n, g, t) for n, g, t in DEMO_GROUPS if t in policy.gpu_types]
    if not groups and policy.gpu_types:
        groups = [(4, 8, next(iter(policy.gpu_types)))]
    return groups


def cluster_summary(groups: list[tuple[int, int, str]] | None = None) -> str:
    return ", ".join(f"{n} × {g} {t.upper()}" for n, g, t in (groups or DEMO_GROUPS))


def people(policy: Policy) -> list[msg.Person]:
    """Everyone in the policy, by team, then the admins: who the console can be."""
    out = [msg.Person(u, f"team {name}", team.channel) for name, team in policy.teams.items() for u in team.members]
    return out + [msg.Person(u, "admin") for u in policy.admins]


def default_seat(policy: Policy) -> tuple[str, str]:
    """(user, channel) to start as: the first member of the first team that has one, in its channel."""
    for team in policy.teams.values():
        if team.members:
            return team.members[0], team.channel or "CGENERAL01"
    return (policy.admins or ["UADMIN01"])[0], "CGENERAL01"


@contextmanager
def console_bot(console: Console, policy: Policy, base: Settings, cluster: KubeCluster | None,
                safety_interval_s: float) -> Iterator[Bot]:
    """The bot, serving on loopback, with its Web API calls going to the console's surface."""
    secret = secrets.token_urlsafe(32)
    with FakeSlack(console.receive) as surface:
        settings = base.model_copy(update={
            "slack_bot_token": SecretStr("xoxb-console"),
            "slack_app_token": None,
            "slack_signing_secret": SecretStr(secret),
            "slack_api_url": surface.url,
        })
        bot = Bot.create(settings, policy, host="127.0.0.1", port=0, http_mode=True, cluster=cluster,
                         safety_interval_s=safety_interval_s)
        bot.start()
        try:
            console.attach(BotLink(f"http://127.0.0.1:{bot.http.port}/slack/events", secret), surface)
            yield bot
        finally:
            bot.stop()


def run_console(console: Console, policy: Policy, base: Settings) -> int:
    """``chatops console``: the cluster from ``KUBECONFIG`` (or in-cluster), Redis from ``REDIS_URL``."""
    kube = KubeCluster.from_env(policy.gpu_types, base.kubeconfig)  # before anything starts: fails fast
    try:
        with console_bot(console, policy, base, kube, CONSOLE_SAFETY_INTERVAL_S):
            console.help_text = msg.console_help(people(policy))
            code = console.run(msg.console_banner(console.user, console.channel, None, people(policy)))
    finally:
        kube.close()  # after the bot stopped: its last dispatcher pass may still use it
    console.say(msg.console_bye())
    return code


@contextmanager
def demo_cluster(policy: Policy, speed: float) -> Iterator[SimServer]:
    """The demo's cluster, with the policy's team namespaces made as a platform engineer would."""
    specs = node_specs([(n, g, policy.gpu_types[t]) for n, g, t in demo_groups(policy)])
    namespaces = [team.namespace for team in policy.teams.values()]
    with SimServer(SimCluster(specs, speed=speed, namespaces=namespaces), host="127.0.0.1", port=0) as sim:
        yield sim


def run_demo(console: Console, base: Settings, speed: float = DEMO_SPEED, policy: Policy | None = None) -> int:
    """``chatops demo``: the simulated cluster, the embedded store (unless ``REDIS_URL``), the bot, the console."""
    policy = policy or example_policy()
    summary = cluster_summary(demo_groups(policy))
    console.say(msg.demo_starting(summary, speed))
    # The demo's cluster is the simulated one, whatever KUBECONFIG says.
    base = base.model_copy(update={"kubeconfig": None})
    with demo_cluster(policy, speed) as sim:
        kube = KubeCluster.from_url(sim.url, policy.gpu_types)
        try:
            with console_bot(console, policy, base, kube, DEMO_SAFETY_INTERVAL_S):
                console.help_text = msg.console_help(people(policy), simulated=True)
                code = console.run(msg.console_banner(console.user, console.channel, summary, people(policy),
                                                      speed))
        finally:
            kube.close()
    console.say(msg.console_bye())
    return code
