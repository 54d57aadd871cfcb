"""Job cards at scale: N jobs in ONE channel go queued → admitted → (pending) → running → succeeded
within two simulated minutes, watched by the real watcher over HTTP, cards updated through the
outbound layer against the fake Slack Web API (which never rate-limits here).

    .venv/bin/python -m tests.bench.cards [--jobs 2000] [--speed 1] [--duration 30] [--rate 50]

The simulated cluster runs in a child process (``chatops sim``) so the RSS reported is the bot's
(watcher, informer cache, outbound queue, Redis client) plus the in-process fake Slack.

What it cannot do in one channel: post 2,000 NEW cards. Slack allows ~1 message/s/channel, so 2,000
card posts take 2,000 s however they are sent. The cards are therefore posted before the clock
starts (seeded in the fake as if posted earlier, at the pace) and the run measures what the watcher
drives: ``chat.update`` of existing cards, coalesced per card, plus the thread replies (started,
succeeded), which are new messages and so queue behind the same 1/s pacing — their count and the
time they need to drain are reported, not hidden.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.adapters.kube.client import KubeCluster
from bot.adapters.redis.stores import RedisStores
from bot.adapters.slack.web import SlackCards, make_client
from bot.app import runtime_of
from bot.domain.cluster.manifests import render_job
from bot.domain.jobs import FINAL_STATES, JobRecord
from bot.domain.policy.config import load_policy
from bot.services.watcher import Watcher
from bot.sim.slack.web_api import FakeSlack
from tests.support.redis_server import RedisServer, free_port

POLICY = Path(__file__).resolve().parents[1] / "chatops.example.yaml"
CHANNEL = "CBENCH01"
NS = "ml-research"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def start_sim(nodes: int, speed: float) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    exe = Path(sys.executable).with_name("chatops")
    proc = subprocess.Popen([str(exe), "sim", "--port", str(port), "--nodes", str(nodes), "--gpus-per-node", "8",
                             "--gpu-type", "h100", "--speed", str(speed), "--namespace", NS],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.search(r"listening on (\S+)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"the sim did not start: {line!r}")
    return proc, m.group(1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    ap.add_argument("--duration", type=int, default=30, help="simulated run time of each job, s")
    ap.add_argument("--rate", type=float, default=0.0,
                    help="admissions per real second (0: all at once, the worst burst)")
    args = ap.parse_args()
    policy = load_policy(POLICY)
    nodes = (args.jobs + 7) // 8
    proc, url = start_sim(nodes, args.speed)
    try:
        with RedisServer() as redis_srv, FakeSlack() as fake:
            run(args, policy, url, redis_srv.url, fake)
    finally:
        proc.terminate()
        proc.wait(10)


def run(args: argparse.Namespace, policy: object, sim_url: str, redis_url: str, fake: FakeSlack) -> None:
    from bot.domain.policy.config import Policy

    assert isinstance(policy, Policy)
    stores = RedisStores.connect(redis_url, policy.redis_prefix)
    store = stores.queue
    cards = SlackCards(make_client("xoxb-bench", fake.url))
    rt = runtime_of(policy, stores, KubeCluster.from_url(sim_url, policy.gpu_types), cards)
    rss_before = rss_mb()
    # Cards posted before the clock starts (see the module doc): seeded where Slack would hold them.
    records = []
    for i in range(args.jobs):
        ts = f"1700000000.{i:06d}"
        r = JobRecord(name=f"b{i:05d}", namespace=NS, team="research", owner="URES0001",
                      image="ghcr.io/acme/train:1.4",
                      gpus=1, gpu_type="h100", time_limit_s=3600, env={"SIM_DURATION": f"{args.duration}s"},
                      idempotency_key=f"bench-{i}", channel=CHANNEL, card_ts=ts)
        rec = store.submit(r).record
        fake.messages[(CHANNEL, ts)] = {"type": "message", "ts": ts, "text": f"{r.name}: queued", "blocks": []}
        records.append(rec)
    watcher = Watcher(rt)
    watcher.start()
    t0 = time.monotonic()

    def admit(r: JobRecord) -> None:  # what the dispatcher does, without the team quota in the way
        if args.rate:
            time.sleep(max(0.0, t0 + int(r.name[1:]) / args.rate - time.monotonic()))
        admitted = store.transition(NS, r.name, ["queued"], "admitted", admitted_at=time.time())
        if admitted is not None:
            rt.cluster.create([render_job(admitted, policy)], admitted.idempotency_key)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(admit, records))
    t_admitted = time.monotonic() - t0
    deadline = t0 + 600
    peak_rss = rss_mb()
    while time.monotonic() < deadline:
        done = len(store.list(states=FINAL_STATES, limit=args.jobs + 10))
        peak_rss = max(peak_rss, rss_mb())
        if done >= args.jobs:
            break
        time.sleep(0.5)
    t_final = time.monotonic() - t0
    rss_tracked = rss_mb()
    # updates drain quickly; thread replies wait their 1/s turn (reported, not waited for)
    out = cards.outbound
    end = time.monotonic() + 120
    while out.pending_updates() and time.monotonic() < end:
        time.sleep(0.1)
    t_cards = time.monotonic() - t0
    final_ok = sum(1 for r in records
                   if "Succeeded" in json.dumps(fake.messages[(CHANNEL, str(r.card_ts))].get("blocks")))
    transitions = sum(len(store.history(NS, r.name)) - 1 for r in records)
    updates = len(fake.calls("chat.update"))
    posts = fake.calls("chat.postMessage")
    queued_posts = out.pending_posts()
    times = sorted(c.time for c in posts)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    lags = list(out.stats.lags)
    sim_minutes = t_final * args.speed / 60
    report = {
        "jobs": args.jobs, "speed": args.speed, "admission_rate_per_s": args.rate or "all at once",
        "job_duration_sim_s": args.duration,
        "admitted_all_s": round(t_admitted, 1), "all_final_in_redis_s": round(t_final, 1),
        "all_final_sim_minutes": round(sim_minutes, 2), "cards_final_s": round(t_cards, 1),
        "cards_in_final_state": final_ok, "transitions": transitions,
        "chat_update_calls": updates, "coalesced_updates": out.stats.coalesced,
        "updates_per_transition": round(updates / max(1, transitions), 3),
        "thread_replies_sent": len(posts), "thread_replies_queued": queued_posts,
        "thread_reply_drain_s_at_1_per_s": len(posts) + queued_posts,
        "calls_per_transition_incl_thread_replies":
            round((updates + len(posts) + queued_posts) / max(1, transitions), 3),
        "min_gap_between_posts_s": round(min(gaps), 3) if gaps else None,
        "pacing_violations": sum(1 for g in gaps if g < 1.0 - 0.02),
        "rate_limited": out.stats.rate_limited, "retried": out.stats.retried, "dropped": out.stats.dropped,
        "lag_ms_median": round(statistics.median(lags) * 1000, 1) if lags else None,
        "lag_ms_p99": round(pct(lags, 99) * 1000, 1) if lags else None,
        "lag_samples": len(lags),
        "rss_mb_before": round(rss_before, 1), "rss_mb_at_tracked": round(rss_tracked, 1),
        "rss_mb_peak": round(peak_rss, 1), "informer_jobs_pods_events": watcher.informer.size(),
        "threads": threading.active_count(), "pid": os.getpid(),
    }
    print(json.dumps(report, indent=2))
    watcher.stop()


if __name__ == "__main__":
    main()
