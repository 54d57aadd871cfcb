"""One dispatcher pass with N admissions (default 100), all of their cards owed in ONE channel.

    .venv/bin/python -m tests.bench.dispatch_pass [--jobs 100] [--nodes 13] [--wait-cards]

Real parts: redis-server (AOF always), the simulated cluster over HTTP, the fake Slack Web API. The
pass admits every job and creates its Kubernetes Job; the cards are the card desk's to post, at
Slack's ~1 message/s/channel, after the pass. A pass that waited on its card posts would take at
least N × 1.05 s; this one's time is Redis's and Kubernetes's. ``--wait-cards`` also waits for the
N cards (about N seconds) and checks there is exactly one per job.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import yaml

from bot.adapters.kube.client import KubeCluster
from bot.adapters.redis.stores import RedisStores
from bot.adapters.slack.web import SlackCards, make_client
from bot.app import runtime_of
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import parse_policy
from bot.services.dispatcher import Dispatcher
from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from bot.sim.slack.web_api import FakeSlack
from tests.support.redis_server import RedisServer

POLICY = Path(__file__).resolve().parents[1] / "chatops.example.yaml"
CHANNEL = "CBENCH01"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=100)
    ap.add_argument("--nodes", type=int, default=13)
    ap.add_argument("--wait-cards", action="store_true")
    args = ap.parse_args()
    data = yaml.safe_load(POLICY.read_text())
    data["teams"]["research"]["gpu_quota"] = args.nodes * 8
    policy = parse_policy(data)
    sim = SimCluster([NodeSpec(f"h100-{i}", 8, "NVIDIA-H100-80GB-HBM3") for i in range(args.nodes)], speed=1)
    with RedisServer() as redis_srv, SimServer(sim) as srv, FakeSlack() as slack:
        stores = RedisStores.connect(redis_srv.url, policy.redis_prefix)
        chat = SlackCards(make_client("xoxb-bench", slack.url))
        kube = KubeCluster.from_url(srv.url, policy.gpu_types)
        rt = runtime_of(policy, stores, kube, chat)
        for i in range(args.jobs):
            r = JobRecord(name=f"p{i:04d}", namespace="ml-research", team="research", owner="URES0001",
                          image="ghcr.io/acme/train:1.4", gpus=1, gpu_type="h100", time_limit_s=3600,
                          env={"SIM_DURATION": "2h"}, idempotency_key=f"pass-{i}", channel=CHANNEL)
            rt.desk.owe(r)
            stores.queue.submit(r)
        dispatcher = Dispatcher(rt)
        t0 = time.monotonic()
        result = dispatcher.run_pass()
        wall = time.monotonic() - t0
        posted_during = len(slack.calls("chat.postMessage"))
        report: dict[str, object] = {
            "admissions": len(result.admitted), "pass_wall_s": round(wall, 3),
            "decision_s": round(result.decision_s, 4), "card_posts_done_when_the_pass_returned": posted_during,
            "a_pass_waiting_on_paced_posts_would_take_at_least_s": round(len(result.admitted) * 1.05, 1),
        }
        if args.wait_cards:
            t1 = time.monotonic()
            rt.desk.settle(args.jobs * 1.2 + 30)
            report["cards_posted_s_after_the_pass"] = round(time.monotonic() - t1, 1)
            per_job: dict[str, int] = {}
            for c in slack.calls("chat.postMessage", status=200):
                job = ((c.args.get("metadata") or {}).get("event_payload") or {}).get("job")
                if job:
                    per_job[job] = per_job.get(job, 0) + 1
            report["jobs_with_exactly_one_card"] = sum(1 for n in per_job.values() if n == 1)
            report["jobs_with_two_or_more"] = sum(1 for n in per_job.values() if n > 1)
        print(json.dumps(report, indent=2))
        chat.close(2)
        kube.close()


if __name__ == "__main__":
    main()
