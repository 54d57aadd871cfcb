"""Previews and stops through a faulty API server: the issue's mix of 20 % 500s, 5 % 429s (Retry-After 1)
and 5 % dropped connections, between the whole bot (HTTP mode) and the simulated cluster.

    .venv/bin/python -m tests.bench.kube_faults [--previews 100] [--stops 20] [--seed 7]

Reports how many previews offered [Launch] (the others: what they said), their latency, and for
stops under the same faults how many were told "Stopped `name`." and whether each record and Job agree.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter

from bot.adapters.redis.queue_store import QueueStore
from bot.render import replies as rendering
from tests.support.botstack import bot_stack, button_value, text_of
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait
from tests.support.watching import launch

OWNER = "URES0001"
IMAGE = "ghcr.io/acme/train:1.4"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--previews", type=int, default=100)
    ap.add_argument("--stops", type=int, default=12)  # 1 GPU each, on 16 H100s
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with RedisServer() as redis, bot_stack(redis.url, faults=True, seed=args.seed) as stack:
        proxy = stack.proxy
        assert proxy is not None
        proxy.set_rates(error_rate=0.2, throttle_rate=0.05, drop_rate=0.05)
        outcomes: Counter[str] = Counter()
        took = []
        for i in range(args.previews):
            started = time.perf_counter()
            answer = stack.ask(f"launch b{i} --image {IMAGE} --gpus 1 --gpu-type h100", OWNER)
            took.append(time.perf_counter() - started)
            try:
                button_value(answer, rendering.LAUNCH_CONFIRM)
                outcomes["preview"] += 1
            except AssertionError:
                outcomes[text_of(answer)[:90]] += 1
        took.sort()
        print(f"previews: {outcomes['preview']}/{args.previews} offered [Launch]; "
              f"p50 {statistics.median(took) * 1000:.0f} ms, p99 {took[int(len(took) * 0.99) - 1] * 1000:.0f} ms")
        for text, n in outcomes.items():
            if text != "preview":
                print(f"  {n} × {text}")
        proxy.set_rates()
        names = [launch(stack, f"launch s{i} --image {IMAGE} --gpus 1 --gpu-type h100 --env SIM_DURATION=1h")
                 for i in range(args.stops)]
        store = QueueStore.from_url(redis.url)
        wait(lambda: all((r := store.get("ml-research", n)) and r.state == "running" for n in names), 60,
             "every job running")
        proxy.set_rates(error_rate=0.2, throttle_rate=0.05, drop_rate=0.05)
        proxy.add_rule("DELETE", r"/jobs/s[0-9]+$", "apply_then_500", times=args.stops // 2)  # ambiguous ones
        told: Counter[str] = Counter()
        for name in names:
            text = str(stack.ask(f"stop {name}", OWNER)["text"])
            told["stopped" if text == f"Stopped `{name}`." else text[:90]] += 1
        proxy.set_rates()
        states = Counter((r.state if (r := store.get("ml-research", n)) else "missing") for n in names)
        print(f"stops: {told['stopped']}/{args.stops} told 'Stopped `name`.'; records {dict(states)}; "
              f"faults injected {len(proxy.faults())}")
        for text, n in told.items():
            if text != "stopped":
                print(f"  {n} × {text}")


if __name__ == "__main__":
    main()
