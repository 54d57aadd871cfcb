"""A storm of alerts through the whole bot: 1,000 alerts in 50 groups over 10 s, posted to
``POST /alerts/alertmanager`` as Alertmanager would (each notification carries the group's alerts so
far), then half the groups resolve. Real redis-server, fake Slack Web API.

Reports: accepted webhooks, receiver latency (p50/p99/max), time until every group's message shows
its final state, the most posts in one channel within any 1 s window, Web API calls per alert.

    .venv/bin/python -m tests.bench.alerts [--alerts 1000 --groups 50 --seconds 10]
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.support.alert_stack import alert_stack, alerts_url, post_webhook
from tests.support.redis_server import RedisServer


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _labels(g: int) -> dict[str, str]:
    if g % 5 == 0:
        return {"alertname": f"Bench{g}", "severity": "critical"}
    if g % 5 == 1:
        return {"alertname": f"Bench{g}", "severity": "warning", "namespace": "ml-vision"}
    return {"alertname": f"Bench{g}", "severity": "warning"}


def _alert(g: int, i: int, status: str) -> dict[str, Any]:
    return {"status": status, "fingerprint": f"g{g}a{i}",
            "labels": {**_labels(g), "Hostname": f"node-{i % 8}", "gpu": str(i)},
            "annotations": {"summary": f"bench alert {i} of group {g}", "runbook_url": "https://runbooks/x"},
            "startsAt": "2026-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}


def _hook(g: int, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {"version": "4", "groupKey": f"{{}}:{{alertname=\"Bench{g}\"}}", "status": status,
            "receiver": "chatops", "groupLabels": {"alertname": f"Bench{g}"}, "commonLabels": _labels(g),
            "commonAnnotations": {}, "externalURL": "http://am", "truncatedAlerts": 0, "alerts": alerts}


def _max_posts_per_second(times: list[float]) -> int:
    times.sort()
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


def run(n_alerts: int, n_groups: int, seconds: float, timeout: float) -> dict[str, Any]:
    per_group = n_alerts // n_groups
    with RedisServer() as redis, alert_stack(redis.url) as stack:
        url = alerts_url(stack)
        sent: dict[int, list[dict[str, Any]]] = {g: [] for g in range(n_groups)}
        plan = [(i % n_groups, i // n_groups) for i in range(per_group * n_groups)]
        bodies = []
        for g, i in plan:  # cumulative, as Alertmanager sends a group's current alerts each time
            sent[g].append(_alert(g, i, "firing"))
            bodies.append(json.dumps(_hook(g, list(sent[g]))))
        latencies: list[float] = []
        statuses: list[int] = []

        def one(body: str) -> None:
            t0 = time.perf_counter()
            status, _ = post_webhook(url, body)
            latencies.append((time.perf_counter() - t0) * 1000)
            statuses.append(status)

        start = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            for k, body in enumerate(bodies):
                delay = start + k * seconds / len(bodies) - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(one, body)
            for g in range(0, n_groups, 2):  # half the groups resolve
                resolved = [{**a, "status": "resolved"} for a in sent[g]]
                pool.submit(one, json.dumps(_hook(g, resolved)))
        burst_end = time.monotonic()

        def final(g: int, text: str) -> bool:
            if g % 2 == 0:
                return f"RESOLVED · Bench{g} · {per_group} alerts" in text
            return f"FIRING · Bench{g} · {per_group} of {per_group} firing" in text

        deadline = burst_end + timeout
        done: set[int] = set()
        while time.monotonic() < deadline and len(done) < n_groups:
            for (_, _), m in list(stack.slack.messages.items()):
                for g in range(n_groups):
                    if g not in done and final(g, m.get("text", "")):
                        done.add(g)
            time.sleep(0.2)
        settled = time.monotonic() - burst_end
        calls = [c for c in stack.slack.calls() if c.method.startswith(("chat.", "files.", "conversations."))]
        posts: dict[str, list[float]] = {}
        for c in calls:
            if c.method == "chat.postMessage":
                posts.setdefault(str(c.args.get("channel")), []).append(c.time)
        return {
            "alerts": len(plan), "groups": n_groups, "webhooks": len(statuses),
            "accepted": statuses.count(200),
            "receiver_ms": {"p50": round(_pct(latencies, 50), 2), "p99": round(_pct(latencies, 99), 2),
                            "max": round(max(latencies), 2)},
            "groups_final": len(done), "seconds_to_final_after_burst": round(settled, 1),
            "messages_posted": sum(len(v) for v in posts.values()),
            "max_posts_per_channel_in_any_1s": max(_max_posts_per_second(v) for v in posts.values()),
            "web_api_calls": len(calls),
            "web_api_calls_per_alert": round(len(calls) / len(plan), 3),
            "chat_update_calls": len([c for c in calls if c.method == "chat.update"]),
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=180.0)
    args = parser.parse_args()
    print(json.dumps(run(args.alerts, args.groups, args.seconds, args.timeout), indent=2))


if __name__ == "__main__":
    main()
