"""One 8-GPU launch with ``scheduler: builtin`` and with ``scheduler: kueue``, side by side: the objects
the bot creates, the API calls it makes (the sim's request log, from the click to Running), and the time
from the click to a Running card, in the sim (speed 60) on one real redis-server.

Run: .venv/bin/python -m tests.bench.kueue_side_by_side [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter

import redis

from bot.render import replies as rendering
from bot.sim.cluster import NodeSpec
from tests.support.botstack import H100, BotStack, bot_stack, button_value
from tests.support.redis_server import RedisServer
from tests.support.watching import wait_card

IMAGE = "ghcr.io/acme/train:1.4"


def one(stack: BotStack, name: str) -> tuple[float, Counter[str], list[str]]:
    preview = stack.ask(f"launch {name} --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=1h",
                        "URES0001")
    token = button_value(preview, rendering.LAUNCH_CONFIRM)
    mark = len(stack.sim.request_log)
    t0 = time.monotonic()
    stack.click(rendering.LAUNCH_CONFIRM, token, "URES0001")
    wait_card(stack, name, "Running", timeout=60)
    elapsed = time.monotonic() - t0
    calls = Counter(f"{r.verb} {r.resource}{'/' + r.subresource if r.subresource else ''}"
                    for r in stack.sim.request_log[mark:])
    created = sorted({f"{r.resource}" for r in stack.sim.request_log[mark:] if r.verb == "create"})
    return elapsed, calls, created


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    nodes = [NodeSpec(f"h100-{i}", 8, H100) for i in range(3)]
    with RedisServer() as server:
        for kueue in (False, True):
            times: list[float] = []
            total: Counter[str] = Counter()
            created: list[str] = []
            for i in range(args.runs):
                redis.Redis.from_url(server.url).flushall()
                with bot_stack(server.url, nodes=nodes, speed=60, kueue=kueue) as stack:
                    elapsed, calls, created = one(stack, f"run{i}")
                    kinds = sorted({e.obj["kind"] for e in stack.sim.cluster.store.list("workloads", None)[1]})
                times.append(elapsed)
                total += calls
            mode = "kueue" if kueue else "builtin"
            print(f"{mode}: click→Running card median {statistics.median(times):.2f} s "
                  f"(min {min(times):.2f}, max {max(times):.2f}, {args.runs} runs, sim speed 60)")
            print(f"  created by the bot: {created}; Kueue made: {kinds or '—'}")
            for call, n in sorted(total.items()):
                print(f"  {n / args.runs:5.1f} × {call}")


if __name__ == "__main__":
    main()
