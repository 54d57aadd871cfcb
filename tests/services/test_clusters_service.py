"""The dispatcher with several clusters, on in-memory fakes: a pool per (cluster, GPU type), the cluster
written at admission, and a cluster that does not answer (its jobs kept, not failed; no new jobs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.domain.cluster.snapshot import JobPhase, Snapshot
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import parse_policy
from bot.domain.scheduling.model import ClusterFacts, NodeFacts
from bot.services.dispatcher import Dispatcher
from bot.services.runtime import Runtime
from tests.services.fakes import FakeCluster, fake_runtime

POLICY = Path(__file__).resolve().parents[1] / "chatops.example.yaml"
NS = "ml-research"


@dataclass
class TwoClusters(FakeCluster):
    """Two clusters' nodes ("cluster/node", as the adapter names them); ``down``: those that do not answer."""

    down: dict[str, float] = field(default_factory=dict)

    def snapshot(self) -> Snapshot:
        up = [n for n in self.nodes if n.cluster not in self.down]
        return Snapshot(ClusterFacts(up), clusters=("onprem", "cloud"), unreachable=dict(self.down))

    def managed_jobs(self, kinds: Any = ()) -> dict[str, JobPhase]:
        return {k: p for k, p in super().managed_jobs(kinds).items() if self.where.get(k) not in self.down}

    @property
    def where(self) -> dict[str, str]:
        return {k: m[0]["metadata"].get("cluster", "") for k, m in self.created.items()}


def setup() -> tuple[Runtime, TwoClusters]:
    data = yaml.safe_load(POLICY.read_text())
    data["teams"]["research"]["gpu_quota"] = 64
    data["clusters"] = {"onprem": {"context": "a"}, "cloud": {"context": "b"}}
    nodes = [NodeFacts("onprem/h100-0", "h100", 8, cluster="onprem"),
             *(NodeFacts(f"cloud/h100-{i}", "h100", 8, cluster="cloud") for i in range(2))]
    rt, _, _ = fake_runtime(parse_policy(data))
    cluster = TwoClusters(nodes)
    rt.cluster = cluster
    return rt, cluster


def submit(rt: Runtime, name: str, **kw: Any) -> None:
    r = JobRecord(name=name, namespace=NS, team="research", owner="URES0001", image="ghcr.io/acme/train:1.4",
                  gpus=8, gpu_type="h100", time_limit_s=3600, submitted_at=rt.clock(), idempotency_key=f"k-{name}",
                  channel="CRESEARCH1", **kw)
    assert rt.store.submit(r).created


def get(rt: Runtime, name: str) -> JobRecord:
    r = rt.store.get(NS, name)
    assert r is not None
    return r


def test_each_job_is_admitted_to_a_cluster_and_the_record_says_which() -> None:
    rt, _ = setup()
    for name in ("a", "b", "c", "d"):
        submit(rt, name)
    Dispatcher(rt).run_pass()
    assert [(get(rt, n).state, get(rt, n).cluster) for n in "abc"] == [
        ("admitted", "cloud"), ("admitted", "onprem"), ("admitted", "cloud")]
    d = get(rt, "d")  # 24 GPUs, all taken: it waits, and its reason names a pool
    assert d.state == "queued" and d.reason is not None and "h100 on" in d.reason


def test_a_cluster_that_does_not_answer_keeps_its_jobs_and_gets_no_new_ones() -> None:
    rt, cluster = setup()
    submit(rt, "a")
    submit(rt, "b")
    dispatcher = Dispatcher(rt)
    dispatcher.run_pass()
    on_onprem = next(n for n in "ab" if get(rt, n).cluster == "onprem")
    for n in "ab":  # both run
        rt.store.transition(NS, n, ["admitted"], "running", started_at=rt.clock())
    cluster.down["onprem"] = rt.clock() - 30
    submit(rt, "new")
    submit(rt, "pinned", cluster_wanted="onprem")
    dispatcher.run_pass()
    kept = get(rt, on_onprem)
    assert kept.state == "running" and kept.unreachable_since == cluster.down["onprem"]  # not failed
    assert get(rt, "new").state == "admitted" and get(rt, "new").cluster == "cloud"
    pinned = get(rt, "pinned")
    assert pinned.state == "queued" and pinned.reason is not None
    assert pinned.reason.startswith("waiting: cluster onprem unreachable since")
    del cluster.down["onprem"]
    dispatcher.run_pass()
    assert get(rt, on_onprem).unreachable_since is None  # back: the card no longer says so
    pinned = get(rt, "pinned")  # onprem answers again, but its one node is the kept job's
    assert pinned.state == "queued" and pinned.reason == "needs 8 × h100 on onprem, 0 free"
