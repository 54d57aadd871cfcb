"""Side by side (issue 15): one 2×8 launch as ``job``, ``jobset`` and ``trainjob`` against the sim (speed 60):
the objects in the namespace, the API calls the bot made from the click on (watches aside), and the time from
the click to the record's ``running`` in wall seconds.

    python -m tests.bench.workload_kinds
"""

from __future__ import annotations

import collections
import time

import redis

from bot.render import replies as rendering
from bot.sim.cluster import NodeSpec
from tests.e2e.test_workload_kinds_e2e import policy_of
from tests.support.botstack import H100, bot_stack, button_value
from tests.support.redis_server import RedisServer

TEXT = ("launch llama --image ghcr.io/acme/train:1.4 --gpus 16 --nodes 2 --gpu-type h100 --time 2h "
        "--env SIM_DURATION=2h")
KINDS = ("trainjobs", "jobsets", "jobs", "services", "pods")


def main() -> None:
    with RedisServer() as server:
        for kind in ("job", "jobset", "trainjob"):
            redis.Redis.from_url(server.url).flushall()
            nodes = [NodeSpec(f"h100-{i}", 8, H100) for i in range(3)]
            with bot_stack(server.url, nodes=nodes, policy=policy_of(kind), extensions=("trainer",)) as s:
                token = button_value(s.ask(TEXT, "URES0001"), rendering.LAUNCH_CONFIRM)
                first = len(s.sim.request_log)
                t0 = time.monotonic()
                s.click(rendering.LAUNCH_CONFIRM, token, "URES0001")
                while time.monotonic() - t0 < 60:
                    rec = s.bot.runtime.store.get("ml-research", "llama")
                    if rec is not None and rec.state == "running":
                        break
                    time.sleep(0.01)
                elapsed = time.monotonic() - t0
                calls = collections.Counter(f"{r.verb} {r.resource}" for r in s.sim.request_log[first:]
                                            if r.verb != "watch")
                store = s.sim.cluster.store
                objects = {p: n for p in KINDS if (n := len(store.list(p, "ml-research")[1]))}
                print(f"{kind:9} click→running {elapsed:.2f} s · objects {objects} · bot API calls {dict(calls)}")


if __name__ == "__main__":
    main()
