"""An alert storm through the bot's HTTP server: one Alertmanager notification with 10,000 alerts (the
size Alertmanager really sends, megabytes) is taken in and shown as one summarised Slack message; a
webhook that is refused is logged with its size and the reason."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bot.domain.alerts.payload import AlertEntry, GroupState
from bot.render.alerts import render_group
from tests.support.alert_stack import alert_stack, alerts_url, post_webhook
from tests.support.botstack import BotStack


def _alert(i: int, name: str, full: bool) -> dict[str, Any]:
    node = f"gpu-node-{i % 97:03d}" if name == "GPUIdle" else f"gpu-node-{i % 3:03d}"
    if not full:  # the least a DCGM alert carries: ~150 bytes
        return {"status": "firing", "fingerprint": f"{i:016x}", "startsAt": "2026-01-01T00:00:00Z",
                "labels": {"alertname": name, "Hostname": node, "gpu": str(i % 8)},
                "annotations": {"summary": f"{name} on {node}"}}
    return {
        "status": "firing", "fingerprint": f"{i:016x}",
        "labels": {"alertname": name, "severity": "warning", "Hostname": node, "gpu": str(i % 8),
                   "UUID": f"GPU-{i:08x}-0000-0000-0000-{i:012x}", "modelName": "NVIDIA H100 80GB HBM3",
                   "namespace": "ml-research", "pod": f"train-{i}-worker-0", "container": "trainer"},
        "annotations": {"summary": f"{name} on {node} GPU {i % 8}",
                        "description": "GPU utilisation under 5% for 30 minutes", "runbook_url": "https://runbooks.acme.io/gpu/idle"},
        "startsAt": "2026-01-01T00:00:00.000Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": f"http://prometheus:9090/graph?g0.expr=DCGM_FI_DEV_GPU_UTIL+%3C+5&i={i}",
    }


def storm(n_idle: int, n_xid: int, full: bool = False) -> dict[str, Any]:
    alerts = [_alert(i, "GPUIdle", full) for i in range(n_idle)]
    alerts += [_alert(n_idle + i, "XidError", full) for i in range(n_xid)]
    return {"version": "4", "groupKey": '{}:{severity="warning"}', "status": "firing", "receiver": "chatops",
            "groupLabels": {"severity": "warning"}, "commonLabels": {"severity": "warning"},
            "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "truncatedAlerts": 0,
            "alerts": alerts}


@pytest.fixture
def stack(redis_url: str) -> Iterator[BotStack]:
    with alert_stack(redis_url) as s:
        yield s


@pytest.mark.parametrize("full", [False, True], ids=["lean", "full-labels"])
def test_a_storm_of_10000_alerts_is_one_summarised_message(stack: BotStack, full: bool) -> None:
    body = json.dumps(storm(9_812, 188, full)).encode()
    assert 1_400_000 < len(body) < 2_500_000 or 4_400_000 < len(body) < 8_000_000
    assert post_webhook(alerts_url(stack), body) == (200, "accepted\n")
    post = stack.slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args.get("channel") == "COPS0001",
                                timeout=60)
    shown = json.dumps(post.args["blocks"])
    assert "10,000 of 10,000 firing" in shown
    assert post.args["text"].startswith("10,000 alerts firing: 9,812 GPUIdle, 188 XidError; top nodes")
    assert "10,000 alerts firing: 9,812 GPUIdle, 188 XidError; top nodes: `gpu-node-000`" in shown
    assert "(of 97)" in shown
    assert "and 9,990 more" in shown
    assert len(shown) < 12_000 and len(post.args["blocks"]) <= 50  # within Block Kit's limits
    assert [c.method for c in stack.slack.calls() if c.method.startswith("chat.")] == ["chat.postMessage"]


def test_a_refused_webhook_is_logged_with_size_and_reason(stack: BotStack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bot.http_server")
    body = json.dumps(storm(50, 0)).encode()
    assert post_webhook(alerts_url(stack), body, token="wrong")[0] == 401
    assert post_webhook(alerts_url(stack), b'{"version": "4"}')[0] == 400
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused POST /alerts")]
    assert len(lines) == 2, lines
    assert f"401 {len(body):,} bytes: missing or wrong bearer token" in lines[0]
    assert "400 16 bytes: not an Alertmanager v4 webhook" in lines[1]
    assert all("wrong" not in line.replace("wrong bearer", "") for line in lines)


def test_a_small_group_is_listed_not_summarised() -> None:
    state = GroupState(gid="g", group_key="k", alerts={
        f"f{i}": AlertEntry(fingerprint=f"f{i}", status="firing", labels={"alertname": "XidError", "node": "n1"})
        for i in range(3)})
    reply = render_group(state, now=0)
    assert "alerts firing:" not in json.dumps(reply.blocks_json()) and reply.text.startswith(":rotating_light:")
