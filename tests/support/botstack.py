"""The whole bot in HTTP mode against real parts: redis-server, the simulated cluster over HTTP,
and the fake Slack Web API. Slack requests are signed and posted to ``/slack/events``."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.adapters.kube.client import KubeCluster
from bot.app import Bot
from bot.domain.policy.config import Policy, load_policy
from bot.settings import Settings
from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from bot.sim.slack import requests as sr
from bot.sim.slack.web_api import Call, FakeSlack
from tests.support.fault_proxy import FaultProxy

POLICY_FILE = Path(__file__).resolve().parents[1] / "chatops.example.yaml"
SECRET = "test-signing-secret"
_ids = itertools.count(1)

H100 = "NVIDIA-H100-80GB-HBM3"
L40S = "NVIDIA-L40S"


def default_nodes() -> list[NodeSpec]:
    return [NodeSpec("h100-0", 8, H100), NodeSpec("h100-1", 8, H100), NodeSpec("l40s-0", 4, L40S)]


def team_namespaces(policy: Policy) -> list[str]:
    """What a platform engineer creates before installing the bot: one namespace per team."""
    return [team.namespace for team in policy.teams.values()]


@dataclass
class BotStack:
    bot: Bot
    slack: FakeSlack
    sim: SimServer
    policy: Policy
    proxy: FaultProxy | None = None  # between the bot and the simulated API server, when asked for

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.bot.http.port}/slack/events"

    def slash(self, text: str, user: str, channel: str = "CRESEARCH1", trigger_id: str | None = None,
              ) -> tuple[int, str]:
        """Send ``/gpu text``; returns (HTTP status, response_url id where the answer will go)."""
        rid = f"cmd{next(_ids)}"
        body = sr.slash_command_body(text, user, channel, response_url=self.slack.response_url(rid),
                                     trigger_id=trigger_id)
        status, _, _ = sr.send(self.events_url, body, SECRET)
        return status, rid

    def click(self, action_id: str, value: str, user: str, channel: str = "CRESEARCH1") -> tuple[int, str]:
        rid = f"click{next(_ids)}"
        body = sr.block_actions_body(action_id, value, user, channel, response_url=self.slack.response_url(rid))
        status, _, _ = sr.send(self.events_url, body, SECRET)
        return status, rid

    def answer(self, rid: str, timeout: float = 10.0) -> dict[str, Any]:
        """The body the bot posted to the response_url ``rid``."""
        call = self.slack.wait_for(lambda c: c.method == "response_url" and c.args.get("_id") == rid, timeout)
        return call.args

    def ask(self, text: str, user: str, **kw: Any) -> dict[str, Any]:
        status, rid = self.slash(text, user, **kw)
        assert status == 200
        return self.answer(rid)

    def cards(self, name: str) -> list[Call]:
        """Every chat.postMessage / chat.update of the card of job ``name``."""
        return [c for c in self.slack.calls() if c.method in ("chat.postMessage", "chat.update")
                and name in json.dumps(c.args.get("blocks", ""))]


def button_value(answer: dict[str, Any], action_id: str) -> str:
    for block in answer.get("blocks", []):
        for el in block.get("elements", []) or []:
            if el.get("action_id") == action_id:
                return str(el["value"])
    raise AssertionError(f"no button {action_id} in {json.dumps(answer)[:500]}")


def text_of(answer: dict[str, Any]) -> str:
    return json.dumps(answer, ensure_ascii=False)


def apply_kueue_objects(sim: SimServer, policy: Policy) -> None:
    """What the platform does with ``chatops kueue-config | kubectl apply -f -``, through the client."""
    from kubernetes import client

    from bot.domain.cluster.kueue import kueue_objects

    api = client.CustomObjectsApi(sim.api_client())
    for obj in kueue_objects(policy):
        group, version = obj["apiVersion"].split("/")
        plural = f"{obj['kind'].lower()}s" if obj["kind"] != "WorkloadPriorityClass" else "workloadpriorityclasses"
        if "namespace" in obj["metadata"]:
            api.create_namespaced_custom_object(group, version, obj["metadata"]["namespace"], plural, obj)
        else:
            api.create_cluster_custom_object(group, version, plural, obj)


@contextmanager
def bot_stack(redis_url: str, nodes: list[NodeSpec] | None = None, speed: float = 60.0,
              safety_interval_s: float = 0.2, history_limit: int = 10_000, namespaces: list[str] | None = None,
              faults: bool = False, seed: int = 0, policy_file: Path = POLICY_FILE,
              slack_setup: Callable[[FakeSlack], None] | None = None, policy: Policy | None = None,
              extensions: tuple[str, ...] = (), kueue: bool = False,
              **more: Any) -> Iterator[BotStack]:
    """The bot in HTTP mode on real parts; ``more`` adds settings (e.g. the alert webhook token).

    The cluster has the policy's team namespaces unless ``namespaces`` says which it has. With
    ``faults`` the bot reaches the cluster through a ``FaultProxy`` (``stack.proxy``), which passes
    everything until the test sets its rates or rules. ``slack_setup`` prepares the fake Slack before
    the bot starts (e.g. its user groups). ``policy`` overrides the file; ``extensions`` install JobSet /
    Trainer in the sim. With ``kueue`` the policy says ``scheduler: kueue`` and the sim runs Kueue, with
    ``chatops kueue-config``'s objects applied before the bot starts."""
    policy = policy or load_policy(policy_file)
    if kueue:
        policy = policy.model_copy(update={"scheduler": policy.scheduler.model_copy(update={"mode": "kueue"})})
    cluster = SimCluster(nodes or default_nodes(), speed=speed, history_limit=history_limit,
                         namespaces=team_namespaces(policy) if namespaces is None else namespaces,
                         extensions=extensions, kueue=kueue)
    with FakeSlack() as slack, SimServer(cluster) as sim, contextlib.ExitStack() as extra:
        if kueue:
            apply_kueue_objects(sim, policy)
            sim.request_log.clear()  # the platform's setup, not the bot's calls (RBAC tests read the log)
        proxy = extra.enter_context(FaultProxy(sim.url, seed=seed)) if faults else None
        if slack_setup is not None:
            slack_setup(slack)
        settings = Settings(
            slack_bot_token=SecretStr("xoxb-test"), slack_signing_secret=SecretStr(SECRET),
            slack_api_url=slack.url, redis_url=SecretStr(redis_url), **more,
        )
        kube = KubeCluster.from_url(proxy.url if proxy else sim.url, policy.gpu_types)
        bot = Bot.create(settings, policy, host="127.0.0.1", port=0, cluster=kube,
                         safety_interval_s=safety_interval_s)
        bot.start()
        try:
            yield BotStack(bot, slack, sim, policy, proxy)
        finally:
            bot.stop()
            kube.close()
