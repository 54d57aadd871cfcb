"""Submit throughput and memory of QueueStore, next to rq's Queue.enqueue, on one real redis-server.

Run: .venv/bin/python -m tests.bench.queue_submit [--n 10000]

The server is the test one (tests/support/redis_server.py): AOF on, appendfsync always, so every
acknowledged write is on disk, as in production. Both sides run single-threaded, one call at a time.
"""

from __future__ import annotations

import argparse
import importlib
import random
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import redis
from rq import Queue

from bot.adapters.redis.queue_store import QueueStore
from bot.domain.jobs import JobRecord
from tests.support.redis_server import RedisServer

TEAMS = ("vision", "nlp", "speech")
SIZES = (1, 1, 2, 4, 8, 8, 16, 32)  # mixed: many small jobs, some multi-node ones


def noop(x: int) -> int:
    """The trivial job rq enqueues (never run: only the enqueue is measured)."""
    return x


def make_records(n: int, seed: int = 7) -> list[JobRecord]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        team = TEAMS[i % 3]
        gpus = rng.choice(SIZES)
        out.append(
            JobRecord(
                name=f"{team}-run-{i}",
                namespace=f"ml-{team}",
                team=team,
                owner=f"U{rng.randrange(30):04d}",
                image=f"ghcr.io/acme/{team}-train:1.{rng.randrange(20)}",
                gpus=gpus,
                gpu_type=rng.choice(("h100", "a100")),
                nodes=max(1, gpus // 8),
                time_limit_s=rng.choice((3600, 6 * 3600, 86400)),
                priority=rng.choice(("low", "normal", "normal", "high")),
                command=["python", "train.py", f"--lr={rng.random():.4f}"],
                env={"WANDB_PROJECT": team},
                submitted_at=time.time(),
                idempotency_key=f"bench-{i}",
            )
        )
    return out


def used_memory(client: redis.Redis) -> int:
    info: Any = client.info("memory")
    return int(info["used_memory"])


def timed(calls: list[Callable[[], object]]) -> tuple[float, list[float]]:
    latencies = []
    start = time.perf_counter()
    for call in calls:
        t = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - t)
    return time.perf_counter() - start, latencies


def p(latencies: list[float], q: float) -> float:
    return statistics.quantiles(latencies, n=100)[int(q) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    n = parser.parse_args().n
    # the function by its importable name (tests.bench.queue_submit.noop), not __main__.noop
    job_fn = importlib.import_module("tests.bench.queue_submit").noop
    records = make_records(n)
    with RedisServer() as server:
        client = redis.Redis.from_url(server.url)
        store = QueueStore(client)
        print(f"redis-server {client.info('server')['redis_version']}, AOF appendfsync=always, N={n}")

        # warm up both (script load, imports), then start from an empty Redis
        QueueStore(client, prefix="warm:").submit(make_records(1)[0])
        Queue("warm", connection=client).enqueue(job_fn, 0)
        client.flushall()

        before = used_memory(client)
        q_secs, q_lat = timed([partial(store.submit, r) for r in records])
        q_mem = used_memory(client) - before
        assert len(store.queued()) == n, "every submit should be queued"

        client.flushall()
        queue = Queue("bench", connection=client)
        before = used_memory(client)
        rq_secs, rq_lat = timed([partial(queue.enqueue, job_fn, i) for i in range(n)])
        rq_mem = used_memory(client) - before
        assert queue.count == n

        client.close()

    print(f"{'':22}{'jobs/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'bytes/job':>11}")
    for label, secs, lat, mem in (
        ("QueueStore.submit", q_secs, q_lat, q_mem),
        ("rq Queue.enqueue", rq_secs, rq_lat, rq_mem),
    ):
        print(f"{label:22}{n / secs:>10.0f}{p(lat, 50):>9.3f}{p(lat, 99):>9.3f}{mem / n:>11.0f}")
    print(f"throughput ratio QueueStore/rq = {(n / q_secs) / (n / rq_secs):.2f}")


if __name__ == "__main__":
    main()
