"""The Alertmanager receiver and the alert outbox, through the whole bot over HTTP: auth and validation
errors, one message per group updated in place, duplicates, resolution, job threads and DMs, and
nothing lost while Slack is down."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.adapters.redis.alert_store import AlertStore
from bot.domain.jobs import JobRecord
from bot.sim.slack.web_api import Call
from tests.support.alert_stack import alert_stack, alerts_url, post_webhook
from tests.support.botstack import BotStack
from tests.support.waiting import wait


def alert(fp: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    return {"status": status, "fingerprint": fp, "labels": {"alertname": "GPUXidErrors", **labels},
            "annotations": {"summary": f"XID on {fp}", "runbook_url": "https://runbooks.acme.io/gpu/xid"},
            "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}


def hook(key: str, *alerts: dict[str, Any], **common: str) -> dict[str, Any]:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {"version": "4", "groupKey": key, "status": status, "receiver": "chatops",
            "groupLabels": {"alertname": "GPUXidErrors"}, "commonLabels": common, "commonAnnotations": {},
            "externalURL": "http://am", "truncatedAlerts": 0, "alerts": list(alerts)}


@pytest.fixture
def stack(redis_url: str) -> Iterator[BotStack]:
    with alert_stack(redis_url) as s:
        yield s


def writes(stack: BotStack, channel: str | None = None) -> list[Call]:
    return [c for c in stack.slack.calls() if c.method in ("chat.postMessage", "chat.update") and c.status == 200
            and (channel is None or c.args.get("channel") == channel)]


def shown(stack: BotStack, channel: str) -> list[str]:
    """The current text of every message in ``channel`` (as Slack shows it now)."""
    return [json.dumps(m["blocks"]) for (ch, _), m in stack.slack.messages.items() if ch == channel]


def test_receiver_refuses_bad_requests(stack: BotStack) -> None:
    url = alerts_url(stack)
    good = hook("g1", alert("a", severity="warning"))
    assert post_webhook(url, good, token=None)[0] == 401
    assert post_webhook(url, good, token="wrong")[0] == 401
    status, text = post_webhook(url, b"{not json")
    assert status == 400 and "Invalid JSON" in text
    status, text = post_webhook(url, {**good, "version": "3"})
    assert status == 400 and "version" in text
    status, text = post_webhook(url, {**good, "alerts": [{"status": "firing"}]})
    assert status == 400 and "alerts.0" in text
    time.sleep(0.5)
    assert writes(stack) == [], "nothing refused reaches Slack"
    assert post_webhook(url, good) == (200, "accepted\n")


def test_one_message_per_group_updated_then_resolved(stack: BotStack) -> None:
    url = alerts_url(stack)
    assert post_webhook(url, hook("g1", alert("a", severity="warning")))[0] == 200
    first = stack.slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args.get("channel") == "COPS0001")
    assert "XID on a" in json.dumps(first.args["blocks"])
    # joins, a duplicate, then resolution: always the same message
    post_webhook(url, hook("g1", alert("a", severity="warning"), alert("b", severity="warning")))
    wait(lambda: any("XID on b" in t for t in shown(stack, "COPS0001")), what="the joined alert")
    n = len(writes(stack))
    post_webhook(url, hook("g1", alert("a", severity="warning"), alert("b", severity="warning")))
    time.sleep(1.5)
    assert len(writes(stack)) == n, "a duplicate changes nothing"
    resolved = [alert(fp, "resolved", severity="warning") for fp in ("a", "b")]
    post_webhook(url, hook("g1", *resolved))
    wait(lambda: any("RESOLVED" in t for t in shown(stack, "COPS0001")), what="resolved in place")
    posts = [c for c in writes(stack, "COPS0001") if c.method == "chat.postMessage"]
    assert len(posts) == 1, "one message per group: resolution is an update"
    assert '"actions"' not in shown(stack, "COPS0001")[0], "a resolved group has no buttons"


def test_routes_and_job_thread_and_dm(stack: BotStack) -> None:
    store = stack.bot.runtime.store
    rec = JobRecord(name="llama-ft", namespace="ml-research", team="research", owner="URES0001",
                    image="ghcr.io/acme/train:1.4", gpus=1, gpu_type="h100", idempotency_key="k-llama",
                    state="stopped", channel="CRESEARCH1", card_ts="1700000000.000001")
    store.submit(rec)
    url = alerts_url(stack)
    post_webhook(url, hook("g-crit", alert("c1", severity="critical", namespace="ml-research",
                                           pod="llama-ft-0-abcde"), severity="critical", namespace="ml-research"))
    post_webhook(url, hook("g-vis", alert("v1", severity="warning", namespace="ml-vision"),
                           severity="warning", namespace="ml-vision"))
    stack.slack.wait_until(lambda cs: len([c for c in cs if c.method == "chat.postMessage"]) >= 4, timeout=15)
    posts = {(c.args["channel"], c.args.get("thread_ts")) for c in writes(stack) if c.method == "chat.postMessage"}
    assert ("CONCALL01", None) in posts  # critical → on-call (first route wins over the namespace)
    assert ("CVISION01", None) in posts
    assert ("CRESEARCH1", "1700000000.000001") in posts  # the job's card thread
    assert ("URES0001", None) in posts  # critical → DM to the owner
    stop_buttons = [e for c in writes(stack, "CONCALL01") for b in c.args["blocks"] if b["type"] == "actions"
                    for e in b["elements"] if e["action_id"] == "alert_stop_job"]
    assert stop_buttons and stop_buttons[0]["value"] == "ml-research/llama-ft"


def test_nothing_lost_while_slack_is_down(stack: BotStack) -> None:
    stack.slack.fail_next(40, status=503, method="chat.postMessage")
    url = alerts_url(stack)
    t0 = time.perf_counter()
    assert post_webhook(url, hook("g-down", alert("d1", severity="warning")))[0] == 200
    assert time.perf_counter() - t0 < 1.0, "the receiver answers without waiting for Slack"
    store = AlertStore(stack.bot.runtime.store.client)
    wait(lambda: store.dirty_count() == 1, what="the group waiting in Redis")
    stack.slack.clear()  # Slack is back
    stack.slack.wait_for(lambda c: c.method == "chat.postMessage" and c.status == 200, timeout=30)
    wait(lambda: store.dirty_count() == 0, what="the group acknowledged after the send")


def test_accepted_webhooks_survive_a_crash_of_the_bot(redis_url: str) -> None:
    """Bodies left in the inbox, or taken by a worker that died before folding them, are sent on start."""
    import redis as redis_lib

    client = redis_lib.Redis.from_url(redis_url)
    store = AlertStore(client)
    store.enqueue(json.dumps(hook("g-inbox", alert("i1", severity="warning"))))
    store.enqueue(json.dumps(hook("g-taken", alert("t1", severity="warning"))))
    assert len(store.take(1)) == 1  # a worker took it, then the process died
    with alert_stack(redis_url) as stack:
        stack.slack.wait_until(lambda cs: len([c for c in cs if c.method == "chat.postMessage"]) >= 2)
        texts = " ".join(shown(stack, "COPS0001"))
        assert "XID on i1" in texts and "XID on t1" in texts
        wait(lambda: store.backlog() == 0 and store.dirty_count() == 0, what="everything acknowledged")
