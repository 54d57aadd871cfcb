"""100,000 queued jobs (3 teams, 512 H100s): submit, dispatcher passes, the admission decision, ETAs,
Redis bytes per queued job, the process's RSS; each target printed with PASS or MISS.

    .venv/bin/python -m tests.bench.queued_100k [--n 100000] [--passes 50]

Real redis-server (AOF on, appendfsync always); the cluster is the in-memory fake of the service tests
(tests/services/fakes.py) with finishes on demand, so a pass measures the bot's own work (Redis reads
and writes, scheduling), not an API server's. Records are submitted with the service's batched submit
(``bot.services.batch_submit.submit_many``: pipelined, 1,000 per round trip), 10,000 at a time. After
the first pass (which reads the whole queue once), each pass follows events, as in production: 4
running jobs finish (GPUs freed) and 10 jobs are submitted before it. Memory is Redis's
``used_memory`` delta over the queued jobs, after the first pass (the change feed read and trimmed),
with a per-key breakdown from ``MEMORY USAGE``.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import statistics
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import yaml

from bot.adapters.redis.stores import RedisStores
from bot.app import runtime_of
from bot.domain.cluster.snapshot import JobPhase
from bot.domain.jobs import JobRecord
from bot.domain.message import Message
from bot.domain.policy.config import parse_policy
from bot.domain.scheduling.model import NodeFacts
from bot.services.batch_submit import submit_many
from bot.services.dispatcher import Dispatcher
from bot.services.housekeeping import Housekeeping
from tests.services.fakes import FakeChat, FakeCluster
from tests.support.redis_server import RedisServer

POLICY = Path(__file__).resolve().parents[1] / "chatops.example.yaml"
TEAMS = {"research": "ml-research", "vision": "ml-vision", "speech": "ml-speech"}
SIZES = (1, 1, 2, 4, 8, 8, 16, 32)
CHUNK = 10_000


class Cluster(FakeCluster):
    """The fake cluster, where chosen Jobs report they have finished."""

    def __init__(self, nodes: list[NodeFacts]) -> None:
        super().__init__(nodes)
        self.done: set[str] = set()

    def managed_jobs(self, kinds: Collection[str] = ()) -> dict[str, JobPhase]:
        phases = super().managed_jobs(kinds)
        for key in self.done & phases.keys():
            ns, name = key.split("/", 1)
            phases[key] = JobPhase(ns, name, finished="succeeded", reason=None, suspended=False)
        return phases

    def forget_done(self) -> None:
        for key in self.done:
            self.created.pop(key, None)
        self.done.clear()


class Chat(FakeChat):
    """The fake Slack, answering card updates later, as the real client does (its lanes are threads):
    the pass queues an update and returns; ``answer`` runs the callbacks after the pass."""

    def __init__(self) -> None:
        super().__init__()
        self.later: list[Callable[[], None]] = []

    def update(self, channel: str, ts: str, reply: Message, origin: float | None = None,
               on_done: Callable[[], None] | None = None) -> bool:
        if on_done is not None:
            self.later.append(on_done)
        return True

    def answer(self) -> None:
        todo, self.later = self.later, []
        for done in todo:
            done()


def _policy() -> Any:
    data = yaml.safe_load(POLICY.read_text())
    data["teams"]["speech"] = {"namespace": "ml-speech", "members": ["USPE0001"], "gpu_quota": 128,
                               "channel": "CSPEECH01"}
    data["teams"]["research"]["gpu_quota"] = 256
    data["teams"]["vision"]["gpu_quota"] = 128
    return parse_policy(data)


def _records(start: int, n: int, rng: random.Random) -> list[JobRecord]:
    out = []
    for i in range(start, start + n):
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


def _used(client: Any) -> int:
    return int(client.info("memory")["used_memory"])


def _breakdown(client: Any, prefix: str, n: int) -> dict[str, int]:
    """Bytes per queued job by kind of key (``MEMORY USAGE``; zsets and hashes shared by all jobs / n)."""

    def usage(key: str) -> int:
        return int(client.memory_usage(key, samples=0) or 0)
    def total(pattern: str) -> int:
        keys = list(client.scan_iter(prefix + pattern, count=1000))
        pipe = client.pipeline(transaction=False)
        for k in keys:
            pipe.memory_usage(k, samples=0)
        return sum(int(v or 0) for v in pipe.execute())
    out = {"record": usage(f"{prefix}job:ml-research/q000003"), "history": usage(f"{prefix}hist:ml-research/q000003")}
    for label, pattern in (("zset_indexes", "idx:*"), ("queue_and_parked", "queue"), ("idem_buckets", "idem*"),
                           ("name_buckets", "names:*"), ("change_feed", "qchg")):
        out[label] = round(total(pattern) / n)
    out["queue_and_parked"] += round(total("parked") / n)
    return out


def _p99(xs: list[float]) -> float:
    return sorted(xs)[max(0, int(len(xs) * 0.99) - 1)]


def _rss_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def _line(name: str, value: float, target: float, unit: str) -> str:
    verdict = "PASS" if value < target else "MISS"
    return f"{verdict}  {name:<44} {value:>10.4g} {unit:<6} (target < {target:g} {unit})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--passes", type=int, default=50)
    args = ap.parse_args()
    policy = _policy()
    rng = random.Random(7)
    with RedisServer() as srv:
        stores = RedisStores.connect(srv.url, policy.redis_prefix)
        client = stores.queue.client
        cluster = Cluster([NodeFacts(f"h100-{i}", "h100", 8) for i in range(64)])  # 512 GPUs
        chat = Chat()
        rt = runtime_of(policy, stores, cluster, chat)
        before = _used(client)
        submit_s: list[float] = []
        held = 0
        for start in range(0, args.n, CHUNK):
            chunk = _records(start, min(CHUNK, args.n - start), rng)
            held += sum(1 for r in chunk if r.held_by)
            t0 = time.perf_counter()
            results = submit_many(rt, chunk)
            submit_s.append(time.perf_counter() - t0)
            assert all(r.created for r in results)
            del chunk, results
        gc.collect()
        submitted = _used(client)
        dispatcher = Dispatcher(rt)
        t0 = time.perf_counter()
        first = dispatcher.run_pass()
        first_s = time.perf_counter() - t0
        chat.answer()
        after_first = _used(client)
        breakdown = _breakdown(client, policy.redis_prefix, args.n)
        passes: list[float] = []
        decisions: list[float] = []
        decided_after: list[float] = []
        explains: list[float] = []
        admitted = len(first.admitted)
        serial = args.n
        for _ in range(args.passes):
            running = [r.key for r in stores.queue.list(states=("admitted", "running"), limit=1000)]
            cluster.done = set(rng.sample(running, min(4, len(running))))  # GPUs freed
            submit_many(rt, _records(serial, 10, rng))
            serial += 10
            t0 = time.perf_counter()
            result = dispatcher.run_pass()
            passes.append(time.perf_counter() - t0)
            cluster.forget_done()
            chat.answer()
            decisions.append(result.decision_s)
            decided_after.append(result.decided_after_s)
            if result.explain_s:
                explains.append(result.explain_s)
            admitted += len(result.admitted)
        keeper = Housekeeping(rt)
        housekeeping: list[float] = []
        for _ in range(3):  # the first also writes each held job's reason (the bench stored none)
            t0 = time.perf_counter()
            keeper.run_pass()
            housekeeping.append(time.perf_counter() - t0)
        rt.desk.stop(timeout=1.0)  # cards are not measured here (tests/bench/cards.py is theirs)
        per_job = (after_first - before) / args.n
        figures = {
            "queued": args.n, "held": held, "submit_total_s": round(sum(submit_s), 2),
            "redis_bytes_per_job_right_after_submit": round((submitted - before) / args.n),
            "redis_bytes_per_job_after_first_pass": round(per_job),
            "redis_bytes_breakdown_per_job": breakdown,
            "record_json_bytes_mean": round(statistics.mean(len(r.to_json()) for r in _records(0, 1000, rng))),
            "admitted_first_pass": len(first.admitted), "admitted_over_passes": admitted,
            "pass_s_first_reads_whole_queue": round(first_s, 3), "explain_s_first": round(first.explain_s, 3),
            "pass_s_median": round(statistics.median(passes), 4), "pass_s_max": round(max(passes), 4),
            "decision_s_p50": round(statistics.median(decisions), 5),
            "decided_after_wake_s_p99": round(_p99(decided_after), 5),
            "explain_passes": len(explains), "housekeeping_pass_s": [round(h, 3) for h in housekeeping],
            "rss_mb_now": _rss_mb(), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
        for k, v in figures.items():
            print(f"{k}: {v}")
        print()
        print(_line("submit of 10,000 records (batched)", submit_s[0], 5.0, "s"))
        print(_line("dispatcher pass, steady (max over passes)", max(passes), 0.5, "s"))
        print(_line("admission decision p99 (decide())", _p99(decisions), 0.005, "s"))
        print(_line("GPUs freed -> decision p99 (whole pass head)", _p99(decided_after), 0.005, "s"))
        print(_line(f"ETA pass (first {policy.scheduler.eta_depth}, later beyond), max",
                    max([first.explain_s, *explains]), 1.0, "s"))
        print(_line("Redis bytes per queued job", per_job, 1000, "B"))
        print(_line("peak RSS of the process", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 500, "MB"))


if __name__ == "__main__":
    main()
