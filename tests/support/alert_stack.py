"""The whole bot (as ``botstack``) with the alert settings: a webhook token, and optionally the URLs
of a real Alertmanager and Prometheus. Also helpers to post webhooks to the receiver."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import SecretStr

from bot.adapters.kube import KubeCluster
from bot.app import Bot
from bot.core.config import load_policy
from bot.settings import Settings
from bot.sim.apiserver import SimServer
from bot.sim.cluster import SimCluster
from tests.support.botstack import POLICY_FILE, SECRET, BotStack, default_nodes
from tests.support.fake_slack import FakeSlack

TOKEN = "test-alert-token"


def alerts_url(stack: BotStack) -> str:
    return f"http://127.0.0.1:{stack.bot.http.port}/alerts/alertmanager"


def post_webhook(url: str, body: bytes | str | dict[str, Any], token: str | None = TOKEN) -> tuple[int, str]:
    data = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@contextmanager
def alert_stack(redis_url: str, *, alertmanager_url: str | None = None, prometheus_url: str | None = None,
                speed: float = 60.0) -> Iterator[BotStack]:
    policy = load_policy(POLICY_FILE)
    cluster = SimCluster(default_nodes(), speed=speed)
    with FakeSlack() as slack, SimServer(cluster) as sim:
        settings = Settings(
            slack_bot_token=SecretStr("xoxb-test"), slack_signing_secret=SecretStr(SECRET),
            slack_api_url=slack.url, redis_url=SecretStr(redis_url), alert_webhook_token=SecretStr(TOKEN),
            alertmanager_url=alertmanager_url, prometheus_url=prometheus_url,
        )
        kube = KubeCluster.from_url(sim.url, policy.gpu_types)
        bot = Bot.create(settings, policy, host="127.0.0.1", port=0, cluster=kube, safety_interval_s=0.2)
        bot.start()
        try:
            yield BotStack(bot, slack, sim, policy)
        finally:
            bot.stop()
            kube.close()
