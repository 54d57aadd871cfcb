"""Several clusters: what placing a queue across pools costs the dispatcher's decision.

Run: .venv/bin/python -m tests.bench.clusters [--n 10000] [--repeat 5]

The same 64 × 8 h100 nodes as one cluster, and split into two clusters of 32 nodes (pools keyed by
(cluster, GPU type)); N queued jobs of mixed sizes from three teams, half the nodes busy. Measured per
decision: ``place`` (a cluster for each queued job) and ``decide`` (order, plan, preemption) on the
pooled books, against ``decide`` alone on one cluster; and how many jobs start in each cluster.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from typing import Any

from bot.domain.jobs import JobRecord
from bot.domain.policy.config import parse_policy
from bot.domain.scheduling.cycle import Books, decide
from bot.domain.scheduling.model import ClusterFacts, NodeFacts
from bot.domain.scheduling.pools import place, pooled_facts, pooled_policy, pooled_record, split_pool

TEAMS = {"vision": "ml-vision", "nlp": "ml-nlp", "speech": "ml-speech"}


def policy(clusters: dict[str, Any]) -> Any:
    return parse_policy({
        "teams": {t: {"namespace": ns, "members": [f"U{t.upper()[:4]}0001"], "gpu_quota": 256}
                  for t, ns in TEAMS.items()},
        "gpu_types": {"h100": "NVIDIA-H100-80GB-HBM3"}, "limits": {"max_gpus_per_job": 64, "max_nodes_per_job": 8},
        "clusters": clusters})


def jobs(n: int, rng: random.Random) -> list[tuple[JobRecord, int]]:
    out = []
    for i in range(n):
        team = rng.choice(list(TEAMS))
        nodes = rng.choice([1, 1, 1, 2, 4])
        gpus = nodes * 8 if nodes > 1 else rng.choice([1, 2, 4, 8])
        out.append((JobRecord(name=f"j{i}", namespace=TEAMS[team], team=team, owner="U1", image="i", gpus=gpus,
                              gpu_type="h100", nodes=nodes, time_limit_s=rng.choice([3600, 4 * 3600, 12 * 3600]),
                              idempotency_key=f"k{i}"), i))
    return out


def facts(split: bool, rng: random.Random) -> ClusterFacts:
    nodes, used = [], {}
    for i in range(64):
        cluster = ("onprem" if i < 32 else "cloud") if split else ""
        name = f"{cluster}/h100-{i}" if split else f"h100-{i}"
        nodes.append(NodeFacts(name, "h100", 8, cluster=cluster))
        used[name] = 8 if rng.random() < 0.5 else 0
    return ClusterFacts(nodes, used)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(7)
    queue = jobs(args.n, rng)
    one, two = policy({}), policy({"onprem": {"context": "a"}, "cloud": {"context": "b"}})
    f1, f2 = facts(False, random.Random(3)), facts(True, random.Random(3))
    single, placing, pooled = [], [], []
    starts: dict[str, int] = {}
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        d1 = decide(one, Books(1e9, f1, active=[], queued=queue))
        single.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pf = pooled_facts(f2)
        where = place(two, [r for r, _ in queue], pf, {})
        books = Books(1e9, pf, active=[], queued=[(pooled_record(r, where.cluster[r.key]), s) for r, s in queue])
        t1 = time.perf_counter()
        d2 = decide(pooled_policy(two), books)
        t2 = time.perf_counter()
        placing.append(t1 - t0)
        pooled.append(t2 - t1)
        starts = {}
        for s in d2.starts:
            c = split_pool(s.job.gpu_type)[1]
            starts[c] = starts.get(c, 0) + 1
    med = statistics.median
    print(f"{args.n} queued jobs, 64 × 8 h100 (half busy), median of {args.repeat}:")
    print(f"  one cluster:   decide {med(single) * 1000:.1f} ms, {len(d1.starts)} start")
    print(f"  two clusters:  place {med(placing) * 1000:.1f} ms + decide {med(pooled) * 1000:.1f} ms, "
          f"{len(d2.starts)} start ({', '.join(f'{c} {n}' for c, n in sorted(starts.items()))})")


if __name__ == "__main__":
    main()
