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

from tests.support.botstack import BotStack, bot_stack

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
    with bot_stack(redis_url, speed=speed, alert_webhook_token=SecretStr(TOKEN),
                   alertmanager_url=alertmanager_url, prometheus_url=prometheus_url) as stack:
        yield stack
