"""100,000 queued jobs (3 teams, 512 H100s): a dispatcher pass, the admission decision, Redis bytes per
queued job, the parked share (held / waiting on dependencies), the process's peak RSS.

    .venv/bin/python -m tests.bench.queued_100k [--n 100000] [--passes 5]

Real redis-server (AOF on, appendfsync always); the cluster is the in-memory fake of the service tests
(tests/services/fakes.py), so a pass measures the bot's own work (Redis reads and writes, scheduling),
not an API server's. Records are submitted with the store's own submit script, pipelined 1,000 at a time.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import time
from pathlib import Path
from typing import Any

import yaml

from bot.adapters.redis.stores import RedisStores
from bot.app import runtime_of
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import parse_policy
from bot.domain.scheduling.model import NodeFacts
from bot.services.dispatcher import Dispatcher
from bot.services.housekeeping import Housekeeping
from tests.services.fakes import FakeChat, FakeCluster
from tests.support.redis_server import RedisServer

POLICY = Path(__file__).resolve().parents[1] / "chatops.example.yaml"
TEAMS = {"research": "ml-research", "vision": "ml-vision", "speech": "ml-speech"}
SIZES = (1, 1, 2, 4, 8, 8, 16, 32)


def _policy() -> Any:
    data = yaml.safe_load(POLICY.read_text())
    data["teams"]["speech"] = {"namespace": "ml-speech", "members": ["USPE0001"], "gpu_quota": 128,
                               "channel": "CSPEECH01"}
    data["teams"]["research"]["gpu_quota"] = 256
    data["teams"]["vision"]["gpu_quota"] = 128
    return parse_policy(data)


def _records(n: int, seed: int = 7) -> list[JobRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        team = list(TEAMS)[i % 3]
        gpus = rng.choice(SIZES)
        r = JobRecord(name=f"q{i:06d}", namespace=TEAMS[team], team=team, owner=f"U{team[:3].upper()}{i % 50:04d}",
                      image="ghcr.io/acme/train:1.4", gpus=gpus, gpu_type="h100", nodes=max(1, gpus // 8),
                      time_limit_s=rng.choice((3600, 6 * 3600, 24 * 3600)),
                      priority=rng.choice(("low", "normal", "normal", "high")),
                      env={"WANDB_PROJECT": "bench"}, idempotency_key=f"bench-{i}", channel="CBENCH01",
                      submitted_at=time.time())
        if i % 50 == 0:
            r.held_by = r.owner  # 2% held
        out.append(r)
    return out


def _submit_all(stores: RedisStores, records: list[JobRecord]) -> float:
    store = stores.queue
    client = store.client
    t0 = time.perf_counter()
    for i in range(0, len(records), 1000):
        pipe = client.pipeline(transaction=False)
        for r in records[i:i + 1000]:
            args = [store.prefix, r.key, r.idempotency_key, r.to_json(), r.owner, r.team, r.name, r.state,
                    f"{r.state} {r.submitted_at!r}", "parked" if r.parked else ""]
            store._submit(args=args, client=pipe)
        pipe.execute()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--passes", type=int, default=5)
    args = ap.parse_args()
    policy = _policy()
    nodes = [NodeFacts(f"h100-{i}", "h100", 8) for i in range(64)]  # 512 GPUs
    with RedisServer() as srv:
        stores = RedisStores.connect(srv.url, policy.redis_prefix)
        client = stores.queue.client
        before = int(client.info("memory")["used_memory"])
        records = _records(args.n)
        submit_s = _submit_all(stores, records)
        after = int(client.info("memory")["used_memory"])
        rt = runtime_of(policy, stores, FakeCluster(nodes), FakeChat())
        dispatcher = Dispatcher(rt)
        passes: list[float] = []
        decisions: list[float] = []
        admitted = 0
        for _ in range(args.passes):
            t0 = time.perf_counter()
            result = dispatcher.run_pass()
            passes.append(time.perf_counter() - t0)
            decisions.append(result.decision_s)
            admitted += len(result.admitted)
        keeper = Housekeeping(rt)
        housekeeping: list[float] = []
        for _ in range(3):  # the first also writes each held job's reason (the bench stored none)
            t0 = time.perf_counter()
            keeper.run_pass()
            housekeeping.append(time.perf_counter() - t0)
        report = {
            "queued": args.n, "held": sum(1 for r in records if r.held_by),
            "submit_pipelined_s": round(submit_s, 2),
            "redis_bytes_per_queued_job": round((after - before) / args.n),
            "record_json_bytes_mean": round(statistics.mean(len(r.to_json()) for r in records)),
            "admitted_over_passes": admitted,
            "pass_s_first": round(passes[0], 3),
            "pass_s_steady_median": round(statistics.median(passes[1:]), 3) if len(passes) > 1 else None,
            "decision_s_max": round(max(decisions), 4),
            "decision_s_p99_over_passes": round(sorted(decisions)[max(0, int(len(decisions) * 0.99) - 1)], 4),
            "housekeeping_pass_s_first": round(housekeeping[0], 3),
            "housekeeping_pass_s_steady": round(statistics.median(housekeeping[1:]), 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
        rt.desk.stop(timeout=1.0)  # cards are not measured here (tests/bench/cards.py is theirs)
        print(json.dumps(report, indent=2), flush=True)


if __name__ == "__main__":
    main()
