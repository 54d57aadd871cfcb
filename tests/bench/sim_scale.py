"""Scale benchmark of the simulated cluster: 64 nodes x 8 GPUs, 5,000 Jobs through the kubernetes client.

Run: .venv/bin/python tests/bench/sim_scale.py [--jobs 5000] [--watch-samples 200]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import threading
import time
import urllib.request
from typing import Any

from kubernetes import client, watch

from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster

H100 = "NVIDIA-H100-80GB-HBM3"


def job(name: str) -> dict[str, Any]:
    container = {
        "name": "train",
        "image": "ghcr.io/acme/train:1",
        "resources": {"limits": {"nvidia.com/gpu": "8"}},
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "nodeSelector": {"nvidia.com/gpu.product": H100},
                    "containers": [container],
                }
            },
        },
    }


def timed(fn: Any, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=5000)
    ap.add_argument("--watch-samples", type=int, default=200)
    args = ap.parse_args()
    cluster = SimCluster([NodeSpec(f"n{i}", 8, H100) for i in range(64)], speed=1.0, namespaces=["bench", "lat"])
    rows: list[tuple[str, str]] = []
    with SimServer(cluster) as srv:
        batch = client.BatchV1Api(srv.api_client())
        t0 = time.perf_counter()
        for i in range(args.jobs):
            batch.create_namespaced_job("bench", job(f"job-{i:05d}"))
        create = time.perf_counter() - t0
        rows.append(
            (
                f"create {args.jobs} jobs (sequential, client)",
                f"{create:.2f} s  ({args.jobs / create:.0f}/s, {create / args.jobs * 1000:.2f} ms each)",
            )
        )
        time.sleep(1.0)  # let the controller settle (pods created, 64 jobs bound)
        n = len(batch.list_namespaced_job("bench").items)
        assert n == args.jobs, n
        typed = timed(lambda: batch.list_namespaced_job("bench"), 5)
        rows.append(("list jobs via typed client (median of 5)", f"{statistics.median(typed) * 1000:.0f} ms"))
        url = f"{srv.url}/apis/batch/v1/namespaces/bench/jobs"
        raw = timed(lambda: urllib.request.urlopen(url).read(), 9)
        size = len(urllib.request.urlopen(url).read())
        rows.append(
            (
                "list jobs raw HTTP (server + transfer, median of 9)",
                f"{statistics.median(raw) * 1000:.1f} ms ({size / 1e6:.1f} MB)",
            )
        )
        sel = timed(lambda: urllib.request.urlopen(url + "?labelSelector=job-name%3Djob-04999").read(), 9)
        rows.append(
            ("list with labelSelector, 1 of 5000 (raw, median)", f"{statistics.median(sel) * 1000:.1f} ms")
        )
        pods = timed(lambda: urllib.request.urlopen(f"{srv.url}/api/v1/namespaces/bench/pods").read(), 5)
        rows.append(("list pods raw HTTP (median of 5)", f"{statistics.median(pods) * 1000:.1f} ms"))

        seen: dict[str, float] = {}
        ready = threading.Event()
        w = watch.Watch()
        watch_api = client.BatchV1Api(srv.api_client())

        def consume() -> None:
            ready.set()
            for ev in w.stream(watch_api.list_namespaced_job, "lat", timeout_seconds=120):
                if ev["type"] == "ADDED":
                    seen.setdefault(ev["object"].metadata.name, time.perf_counter())
                if len(seen) >= args.watch_samples:
                    w.stop()

        th = threading.Thread(target=consume, daemon=True)
        th.start()
        ready.wait()
        time.sleep(0.3)
        sent: dict[str, float] = {}
        for i in range(args.watch_samples):
            name = f"lat-{i:04d}"
            t = time.perf_counter()
            batch.create_namespaced_job("lat", job(name))
            sent[name] = t
            time.sleep(0.005)
        th.join(30)
        lat = sorted((seen[k] - sent[k]) * 1000 for k in sent if k in seen)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        rows.append(
            (
                f"watch latency create→ADDED ({len(lat)} samples)",
                f"median {statistics.median(lat):.2f} ms, p99 {p99:.2f} ms",
            )
        )
        bound = sum(1 for n in cluster.free_gpus().values() if n == 0)
        rows.append(("nodes fully allocated after settle", f"{bound}/64"))
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append(("max RSS of the process (sim + client)", f"{rss:.0f} MB"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
