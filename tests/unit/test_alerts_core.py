"""The pure alert core: payload validation, routing, job lookup candidates, merge, silences, rendering,
and PromQL escaping."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.domain.alerts import promql
from bot.domain.alerts.payload import GroupState, Silence, group_id, parse_webhook
from bot.domain.alerts.routing import job_candidates, merge, route_channel, silence_matchers
from bot.domain.policy.config import load_policy
from bot.render.alerts import ALERT_EXPIRE, ALERT_SILENCE_1H, ALERT_STOP_JOB, render_group
from tests.support.botstack import POLICY_FILE


def alert(fp: str, status: str = "firing", **labels: str) -> dict[str, Any]:
    return {"status": status, "fingerprint": fp, "labels": {"alertname": "GPUXidErrors", **labels},
            "annotations": {"summary": f"XID on {fp}", "runbook_url": "https://runbooks.acme.io/gpu/xid"},
            "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}


def hook(*alerts: dict[str, Any], key: str = "{}:{alertname=\"GPUXidErrors\"}", **common: str) -> dict[str, Any]:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {"version": "4", "groupKey": key, "status": status, "receiver": "chatops",
            "groupLabels": {"alertname": "GPUXidErrors"}, "commonLabels": common, "commonAnnotations": {},
            "externalURL": "http://am", "truncatedAlerts": 0, "alerts": list(alerts)}


# --- payload -------------------------------------------------------------------------------------


def test_parse_valid_webhook() -> None:
    h = parse_webhook(json.dumps(hook(alert("a", severity="critical"))))
    assert h.alerts[0].labels["severity"] == "critical"


@pytest.mark.parametrize(("body", "reason"), [
    ("not json", "Invalid JSON"),
    (json.dumps({**hook(alert("a")), "version": "3"}), "version"),
    (json.dumps({**hook(alert("a")), "alerts": []}), "alerts"),
    (json.dumps({**hook(alert("a")), "groupKey": None}), "groupKey"),
    (json.dumps(hook({**alert("a"), "status": "pending"})), "alerts.0.status"),
])
def test_parse_rejects_with_reason(body: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_webhook(body)


# --- routing -------------------------------------------------------------------------------------


def test_route_first_match_then_default() -> None:
    alerts = load_policy(POLICY_FILE).alerts
    assert route_channel(alerts, {"severity": "critical", "namespace": "ml-vision"}) == "CONCALL01"  # first wins
    assert route_channel(alerts, {"severity": "warning", "namespace": "ml-vision"}) == "CVISION01"
    assert route_channel(alerts, {"severity": "warning"}) == "COPS0001"


def test_job_candidates_from_labels() -> None:
    assert job_candidates({"pod": "llama-ft-0-abcde"}) == []  # no namespace: nothing to look up
    assert job_candidates({"namespace": "ml", "pod": "llama-ft-0-abcde"}) == [
        ("ml", "llama-ft-0"), ("ml", "llama-ft"), ("ml", "llama")]
    assert job_candidates({"namespace": "ml", "job_name": "x"})[0] == ("ml", "x")


# --- merge ---------------------------------------------------------------------------------------


def state_of(h: dict[str, Any]) -> GroupState:
    w = parse_webhook(json.dumps(h))
    s = GroupState(gid=group_id(w.groupKey), group_key=w.groupKey)
    merged = merge(s, w)
    assert merged is not None
    return merged


def test_merge_join_duplicate_resolve() -> None:
    s1 = state_of(hook(alert("a")))
    assert s1.version == 1 and len(s1.firing) == 1
    assert merge(s1, parse_webhook(json.dumps(hook(alert("a"))))) is None  # duplicate: nothing changes
    s2 = merge(s1, parse_webhook(json.dumps(hook(alert("a"), alert("b")))))
    assert s2 is not None and s2.version == 2 and len(s2.firing) == 2
    s3 = merge(s2, parse_webhook(json.dumps(hook(alert("a", "resolved"), alert("b", "resolved")))))
    assert s3 is not None and s3.resolved
    late = parse_webhook(json.dumps(hook(alert("a"), alert("b"))))
    assert merge(s3, late) is None, "a late firing copy does not re-open a resolved alert"
    again = parse_webhook(json.dumps(hook({**alert("a"), "startsAt": "2026-01-02T00:00:00Z"})))
    s4 = merge(s3, again)
    assert s4 is not None and len(s4.firing) == 1, "a re-fire (later startsAt) opens it again"


# --- silences ------------------------------------------------------------------------------------


def test_silence_matchers_cover_the_group_exactly() -> None:
    s = state_of(hook(alert("a", Hostname="h100-0", gpu="0", severity="critical"),
                      alert("b", Hostname="h100-0", gpu="1.5|x", severity="critical")))
    m = {x["name"]: x for x in silence_matchers(s)}
    assert m["alertname"] == {"name": "alertname", "value": "GPUXidErrors", "isRegex": False, "isEqual": True}
    assert m["Hostname"]["value"] == "h100-0" and not m["Hostname"]["isRegex"]
    assert m["gpu"] == {"name": "gpu", "value": "0|1\\.5\\|x", "isRegex": True, "isEqual": True}
    assert "severity" not in m


# --- rendering -----------------------------------------------------------------------------------


def buttons(reply_blocks: list[dict[str, Any]]) -> list[str]:
    return [e["action_id"] for b in reply_blocks if b["type"] == "actions" for e in b["elements"]]


def test_render_firing_silenced_resolved() -> None:
    s = state_of(hook(alert("a", severity="critical", namespace="ml-research", pod="llama-ft-0-abcde",
                            Hostname="h100-0", gpu="3")))
    s = s.model_copy(update={"job_key": "ml-research/llama-ft"})
    r = render_group(s, now=0)
    text = json.dumps(r.blocks_json())
    for expected in ("FIRING", "[critical]", "XID on a", "llama-ft-0-abcde", "h100-0", "GPU `3`", "runbook"):
        assert expected in text, expected
    assert buttons(r.blocks_json()) == [ALERT_SILENCE_1H, "alert_silence_4h", ALERT_STOP_JOB]
    silenced = s.model_copy(update={"silence": Silence(id="s1", by="URES0001", until=3600)})
    r = render_group(silenced, now=0)
    assert "Silenced by <@URES0001> until 1970-01-01 01:00 UTC" in json.dumps(r.blocks_json())
    assert buttons(r.blocks_json())[0] == ALERT_EXPIRE
    done = merge(s, parse_webhook(json.dumps(hook(alert("a", "resolved")))))
    assert done is not None
    r = render_group(done, now=0)
    assert "RESOLVED" in r.text and buttons(r.blocks_json()) == []


def test_render_bounds_large_groups() -> None:
    s = state_of(hook(*[alert(f"fp{i}") for i in range(300)]))
    blocks = render_group(s, now=0).blocks_json()
    assert "290 more" in json.dumps(blocks) and len(blocks) <= 50


# --- PromQL escaping ------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "literal"), [
    ("plain", '"plain"'),
    ('a"b', '"a\\"b"'),
    ("back\\slash", '"back\\\\slash"'),
    ("new\nline", '"new\\nline"'),
    ('"} or vector(1) or {x="', '"\\"} or vector(1) or {x=\\""'),
    ("\x01", '"\\x01"'),
])
def test_quote(value: str, literal: str) -> None:
    assert promql.quote(value) == literal


def test_regex_quote_and_selector() -> None:
    assert promql.regex_quote("a.b*c|d(e)") == "a\\.b\\*c\\|d\\(e\\)"
    sel = promql.selector("DCGM_FI_DEV_GPU_UTIL", ("namespace", "=", 'x"}'), ("pod", "=~", promql.pods_of_job("a.b")))
    assert sel == 'DCGM_FI_DEV_GPU_UTIL{namespace="x\\"}",pod=~"a\\\\.b-([0-9]+-)?[a-z0-9]+"}'
    with pytest.raises(ValueError):
        promql.selector("m", ('bad"name', "=", "x"))
    with pytest.raises(ValueError):
        promql.selector("m", ("ok", "==", "x"))
