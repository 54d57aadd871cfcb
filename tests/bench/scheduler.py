"""The scheduler benchmark: submit throughput and memory in Redis (beside rq), then a simulated day.

Run: .venv/bin/python -m tests.bench.scheduler [--n 10000] [--skip-redis]

1. Redis: ``QueueStore.submit`` of N jobs beside rq's ``Queue.enqueue`` on the same redis-server
   (AOF, appendfsync always) in the same run, and Redis memory per queued job (tests.bench.queue_submit).
2. A simulated day on a 64-node cluster (48 × 8 h100 + 16 × 8 a100 = 512 GPUs), N jobs queued at
   t=0 from 3 teams with mixed sizes plus arrivals during the day; every job runs its full time
   limit. The pure core decides on a simulated clock: admission decision time (order + plan +
   preemption; CPU time per decision, and wall time beside it), the median ETA error against actual starts, GPU
   utilisation with EASY backfill against strict per-type FIFO, and GPU-hours per team against shares.
"""

from __future__ import annotations

import argparse
import heapq
import importlib
import random
import statistics
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial

from bot.domain.scheduling.admission import plan_admissions
from bot.domain.scheduling.eta import estimate
from bot.domain.scheduling.fair_share import Usage, accrue, share_ratios
from bot.domain.scheduling.model import QueuedJob, RunningJob, SchedState, order_queue, place_gang, reserve
from bot.domain.scheduling.preemption import plan_preemptions
from tests.bench.queue_submit import SIZES, TEAMS, make_records, p, timed, used_memory

DAY = 86400.0
H = 3600.0
NODES = {**{f"h100-{i}": "h100" for i in range(48)}, **{f"a100-{i}": "a100" for i in range(16)}}
QUOTAS = {"vision": 256, "nlp": 192, "speech": 128}  # 576 > 512: oversubscribed, fair share decides
HALF_LIFE = 24 * H


# --- the baseline: the strict per-type order the dispatcher used before this scheduler -----------

@dataclass(frozen=True)
class Demand:
    """GPUs a job needs, for fit checks."""

    key: str
    team: str
    gpu_type: str
    nodes: int
    gpus_per_node: int

    @property
    def gpus(self) -> int:
        return self.nodes * self.gpus_per_node


def admit_in_order(
    queue: Iterable[Demand],
    free: Mapping[str, dict[str, int]],
    team_used: Mapping[str, int],
    team_quota: Mapping[str, int],
) -> list[tuple[Demand, list[str]]]:
    """Which queued jobs start now, in queue order, each with its nodes.

    A job starts when its GPU type has a gang placement and its team stays within quota.
    A job that cannot start blocks later jobs of the same GPU type (strict order per type;
    backfill comes with the scheduler).
    """
    free_now = {t: dict(by_node) for t, by_node in free.items()}
    used = dict(team_used)
    blocked: set[str] = set()
    admitted: list[tuple[Demand, list[str]]] = []
    for d in queue:
        if d.gpu_type in blocked:
            continue
        if used.get(d.team, 0) + d.gpus > team_quota.get(d.team, 0):
            continue  # the team's quota is full: others may still start
        by_node = free_now.get(d.gpu_type, {})
        placement = place_gang(by_node, d.nodes, d.gpus_per_node)
        if placement is None:
            blocked.add(d.gpu_type)
            continue
        reserve(by_node, placement, d.gpus_per_node)
        used[d.team] = used.get(d.team, 0) + d.gpus
        admitted.append((d, placement))
    return admitted



def make_jobs(n: int, arrivals: int, seed: int = 11) -> list[tuple[float, QueuedJob]]:
    rng = random.Random(seed)
    out = []
    for i in range(n + arrivals):
        gpus = rng.choice(SIZES)
        at = 0.0 if i < n else rng.uniform(0, DAY)
        prio = rng.choice(("low", "normal", "normal", "normal", "high")) if i < n else rng.choice(("normal", "high"))
        out.append((at, QueuedJob(f"j{i}", TEAMS[i % 3], rng.choice(("h100", "h100", "h100", "a100")),
                                  max(1, gpus // 8), min(gpus, 8), rng.choice((H, 3 * H, 6 * H, 12 * H)), prio, i)))
    return out


@dataclass
class DayResult:
    used_gpu_s: float = 0.0
    team_gpu_s: dict[str, float] = field(default_factory=dict)
    decisions_ms: list[float] = field(default_factory=list)  # CPU time (immune to other processes)
    decisions_wall_ms: list[float] = field(default_factory=list)
    eta_errors: list[float] = field(default_factory=list)
    eta_ms: list[float] = field(default_factory=list)
    started: int = 0
    preempted: int = 0


def simulate_day(jobs: list[tuple[float, QueuedJob]], mode: str, eta_every: float | None = None) -> DayResult:
    """``mode``: "easy" (the scheduler) or "fifo" (strict per-type order, the previous admit_in_order)."""
    res = DayResult(team_gpu_s=dict.fromkeys(QUOTAS, 0.0))
    free: dict[str, dict[str, int]] = {"h100": {}, "a100": {}}
    for node, gpu_type in NODES.items():
        free[gpu_type][node] = 8
    arrivals = sorted(jobs, key=lambda a: a[0])
    queue: dict[str, QueuedJob] = {}
    running: dict[str, RunningJob] = {}
    ends: list[tuple[float, str]] = []
    usage = {team: Usage(0.0, 0.0) for team in QUOTAS}
    first_start: dict[str, float] = {}
    predictions: list[tuple[str, float, float]] = []  # (job, when predicted, predicted start)
    next_eta = 0.0 if eta_every else None
    t, ai = 0.0, 0
    while t <= DAY:
        while ai < len(arrivals) and arrivals[ai][0] <= t:
            queue[arrivals[ai][1].key] = arrivals[ai][1]
            ai += 1
        c0, w0 = time.process_time(), time.perf_counter()
        ratios = share_ratios({k: u.gpu_hours for k, u in usage.items()}, QUOTAS)
        ordered = order_queue(list(queue.values()), ratios)
        state = SchedState(t, free, list(running.values()), ordered, QUOTAS, drain_s=0.0)
        if mode == "easy":
            plan = plan_admissions(state, explain=False)
            pre = plan_preemptions(state, plan)
            starts = [(s.job, s.nodes, s.over_quota) for s in plan.starts]
            victims = [v.victim.key for v in pre.preemptions]
        else:
            used = {team: 0 for team in QUOTAS}
            for r in running.values():
                used[r.team] += r.gpus
            demands = [Demand(j.key, j.team, j.gpu_type, j.nodes, j.gpus_per_node) for j in ordered]
            starts = [(queue[d.key], nodes, False) for d, nodes in admit_in_order(demands, free, used, QUOTAS)]
            victims = []
        if len(queue) >= 9000:
            res.decisions_ms.append((time.process_time() - c0) * 1000)
            res.decisions_wall_ms.append((time.perf_counter() - w0) * 1000)
        if next_eta is not None and eta_every and t >= next_eta:
            e0 = time.perf_counter()
            for key, eta in estimate(state, horizon_s=2 * DAY, usage=usage, half_life_s=HALF_LIFE).items():
                if eta is not None:
                    predictions.append((key, t, eta))
            res.eta_ms.append((time.perf_counter() - e0) * 1000)
            next_eta = t + eta_every
        for key in victims:  # preempted: GPUs back at once (no grace in the simulation), job re-queued
            r = running.pop(key)
            for node, g in r.placement:
                free[r.gpu_type][node] += g
            res.used_gpu_s -= r.gpus * (r.end_at - t)  # it will not run to its end after all
            res.team_gpu_s[r.team] -= r.gpus * (r.end_at - t)
            queue[key] = next(j for _, j in jobs if j.key == key)
            res.preempted += 1
        for job, nodes, over in starts:
            del queue[job.key]
            for node in nodes:
                free[job.gpu_type][node] -= job.gpus_per_node
            end = t + job.time_limit_s
            running[job.key] = RunningJob(job.key, job.team, job.gpu_type,
                                          tuple((n, job.gpus_per_node) for n in nodes), end, job.priority, over, t)
            heapq.heappush(ends, (end, job.key))
            first_start.setdefault(job.key, t)
            gpu_s = job.gpus * (min(end, DAY) - t)
            res.used_gpu_s += gpu_s
            res.team_gpu_s[job.team] += gpu_s
            res.started += 1
        # the next instant: a job ends, a job arrives, or an ETA sample is due
        candidates = [DAY + 1]
        while ends and ends[0][1] not in running:
            heapq.heappop(ends)
        if ends:
            candidates.append(ends[0][0])
        if ai < len(arrivals):
            candidates.append(arrivals[ai][0])
        if next_eta is not None:
            candidates.append(next_eta)
        t = max(t + 1e-6, min(candidates))
        held = dict.fromkeys(QUOTAS, 0)
        for r in running.values():  # held until t, including the jobs that end at t
            held[r.team] += r.gpus
        usage = {team: accrue(u, held[team], t, HALF_LIFE) for team, u in usage.items()}
        while ends and ends[0][0] <= t:
            _, key = heapq.heappop(ends)
            r2 = running.pop(key, None)
            if r2 is not None and r2.end_at <= t:
                for node, g in r2.placement:
                    free[r2.gpu_type][node] += g
            elif r2 is not None:
                running[key] = r2
    for key, when, eta in predictions:
        actual = first_start.get(key)
        if actual is None or actual <= when or eta <= when:
            continue  # not started within the day, or predicted when already starting
        res.eta_errors.append(abs(eta - actual) / (actual - when))
    return res


def redis_part(n: int) -> None:
    import redis
    from rq import Queue

    from bot.adapters.redis.queue_store import QueueStore
    from tests.support.redis_server import RedisServer

    job_fn = importlib.import_module("tests.bench.queue_submit").noop
    records = make_records(n)
    with RedisServer() as server:
        client = redis.Redis.from_url(server.url)
        store = QueueStore(client)
        QueueStore(client, prefix="warm:").submit(make_records(1)[0])
        Queue("warm", connection=client).enqueue(job_fn, 0)
        client.flushall()
        before = used_memory(client)
        q_secs, q_lat = timed([partial(store.submit, r) for r in records])
        q_mem = used_memory(client) - before
        t0 = time.perf_counter()
        assert len(store.queued_with_seq()) == n
        load_s = time.perf_counter() - t0
        client.flushall()
        queue = Queue("bench", connection=client)
        before = used_memory(client)
        rq_secs, rq_lat = timed([partial(queue.enqueue, job_fn, i) for i in range(n)])
        rq_mem = used_memory(client) - before
        client.close()
    print(f"Redis (AOF appendfsync always), N={n}")
    print(f"  QueueStore.submit  {n / q_secs:8.0f} jobs/s  p50 {p(q_lat, 50):.3f} ms  p99 {p(q_lat, 99):.3f} ms"
          f"  {q_mem / n:.0f} bytes/queued job")
    print(f"  rq Queue.enqueue   {n / rq_secs:8.0f} jobs/s  p50 {p(rq_lat, 50):.3f} ms  p99 {p(rq_lat, 99):.3f} ms"
          f"  {rq_mem / n:.0f} bytes/job")
    print(f"  throughput ratio QueueStore/rq = {(n / q_secs) / (n / rq_secs):.2f}")
    print(f"  reading the whole queue back (queued_with_seq): {load_s * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--arrivals", type=int, default=300)
    parser.add_argument("--skip-redis", action="store_true")
    args = parser.parse_args()
    if not args.skip_redis:
        redis_part(args.n)
    jobs = make_jobs(args.n, args.arrivals)
    capacity = 8 * len(NODES) * DAY
    easy = simulate_day(jobs, "easy", eta_every=H)
    fifo = simulate_day(jobs, "fifo")
    d, w = easy.decisions_ms, easy.decisions_wall_ms
    print(f"Simulated day: {len(NODES)} nodes, {8 * len(NODES)} GPUs, {args.n} queued at t=0 + {args.arrivals} "
          "arrivals, jobs run their full limits")
    print(f"  admission decision (order + plan + preemption) with >=9000 queued: {len(d)} decisions, "
          f"CPU time median {statistics.median(d):.2f} ms, p99 {statistics.quantiles(d, n=100)[98]:.2f} ms, "
          f"max {max(d):.2f} ms; wall median {statistics.median(w):.2f} ms, "
          f"p99 {statistics.quantiles(w, n=100)[98]:.2f} ms")
    errs = easy.eta_errors
    if errs:
        print(f"  ETA error vs actual start (|eta-actual| / wait; hourly samples): {len(errs)} predictions, "
              f"median {statistics.median(errs) * 100:.1f}%, p90 {statistics.quantiles(errs, n=10)[8] * 100:.1f}%"
              f"; one full ETA pass {statistics.median(easy.eta_ms):.0f} ms median")
    print(f"  GPU utilisation: EASY backfill {easy.used_gpu_s / capacity * 100:.1f}%  vs  strict per-type FIFO "
          f"{fifo.used_gpu_s / capacity * 100:.1f}%  (jobs started {easy.started} vs {fifo.started}; "
          f"preemptions {easy.preempted})")
    total = sum(easy.team_gpu_s.values())
    share_total = sum(QUOTAS.values())
    for team, gpu_s in easy.team_gpu_s.items():
        got, share = gpu_s / total, QUOTAS[team] / share_total
        print(f"  {team:7} GPU-hours {gpu_s / H:8.0f}  got {got * 100:5.1f}%  share {share * 100:5.1f}%  "
              f"off by {abs(got - share) / share * 100:4.1f}% of its share")


if __name__ == "__main__":
    main()
