"""Latency from a signed `/gpu launch` request to its HTTP ack, beside a bare bolt app that only acks.

Both apps are served by the same HTTP server (waitress, embedded) on loopback; requests are sent one
at a time. gpu-chatops adds its gate (signature on the raw body, shape check, the replay check in
Redis); the bare app is bolt alone. The ratio of the medians is to stay ≤ 1.5. Also reports the time
until the preview reaches the response_url (the work after the ack).

    .venv/bin/python -m tests.bench.ack_latency [--requests 300]
"""

from __future__ import annotations

import argparse
import statistics
import time

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.http_server import ChatopsHTTPServer
from bot.sim.slack import requests as sr
from bot.sim.slack.web_api import FakeSlack
from tests.support.botstack import SECRET, bot_stack
from tests.support.redis_server import RedisServer

TEXT = "launch llama-ft --image ghcr.io/acme/train:1.4 --gpus 8 --gpu-type h100 --time 12h -- torchrun train.py"


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _measure(url: str, n: int, response_url: str) -> list[float]:
    out = []
    for i in range(n):
        body = sr.slash_command_body(TEXT, "URES0001", response_url=response_url, trigger_id=f"t{i}")
        headers = sr.sign(body, SECRET)
        t0 = time.perf_counter()
        status, _, _ = sr.post(url, body, headers)
        out.append((time.perf_counter() - t0) * 1000)
        assert status == 200, status
    return out


def _bare(n: int, slack: FakeSlack) -> list[float]:
    app = App(signing_secret=SECRET, token_verification_enabled=False, process_before_response=False,
              client=WebClient(token="xoxb-test", base_url=slack.url))  # the same fake Web API as the bot

    @app.command("/gpu")
    def only_ack(ack: Ack) -> None:
        ack()

    server = ChatopsHTTPServer("127.0.0.1", 0, app, ready=lambda: True)
    server.start()
    try:
        return _measure(f"http://127.0.0.1:{server.port}/slack/events", n, slack.response_url("bare"))
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    n = args.requests
    with RedisServer() as redis_server, bot_stack(redis_server.url) as stack:
        _measure(stack.events_url, 20, stack.slack.response_url("warm"))  # warm-up
        stack.slack.clear()
        sent: dict[str, float] = {}
        acks = []
        for i in range(n):
            rid = f"r{i}"
            body = sr.slash_command_body(TEXT, "URES0001", response_url=stack.slack.response_url(rid),
                                         trigger_id=f"bench{i}")
            headers = sr.sign(body, SECRET)
            sent[rid] = time.monotonic()  # the fake records arrivals on the same clock
            t0 = time.perf_counter()
            status, _, _ = sr.post(stack.events_url, body, headers)
            acks.append((time.perf_counter() - t0) * 1000)
            assert status == 200
        calls = stack.slack.wait_until(lambda cs: sum(c.method == "response_url" for c in cs) >= n, timeout=120)
        previews = [(c.time - sent[c.args["_id"]]) * 1000 for c in calls
                    if c.method == "response_url" and c.args.get("_id") in sent]
        bare = _bare(n, stack.slack)
    rows: list[tuple[str, list[float]]] = [("gpu-chatops /gpu launch → ack", acks),
                                           ("bare bolt app (ack only) → ack", bare),
                                           ("gpu-chatops request → preview at response_url", previews)]
    print(f"{n} signed requests each, sequential, loopback")
    print(f"{'':48} {'median ms':>10} {'p99 ms':>8}")
    for label, values in rows:
        print(f"{label:48} {statistics.median(values):10.2f} {_pct(values, 99):8.2f}")
    ratio = statistics.median(acks) / statistics.median(bare)
    p99 = _pct(acks, 99) / _pct(bare, 99)
    print(f"ack ratio gpu-chatops / bare bolt: median {ratio:.2f}x, p99 {p99:.2f}x (target ≤ 1.5x)")


if __name__ == "__main__":
    main()
