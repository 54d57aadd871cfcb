"""The pure scheduling cycle: a picture of the books and the cluster in, decisions out; no server."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.jobs import JobRecord
from bot.domain.policy.config import Policy, parse_policy
from bot.domain.scheduling.cycle import Books, decide, explain, ordered, quotas_of
from bot.domain.scheduling.fair_share import Usage
from bot.domain.scheduling.model import ClusterFacts, NodeFacts

POLICY = Path(__file__).resolve().parents[1] / "chatops.example.yaml"
NOW = 1_800_000_000.0
TEAM_NS = {"research": "ml-research", "vision": "ml-vision"}


def policy(**quotas: int) -> Policy:
    data = yaml.safe_load(POLICY.read_text())
    for team, quota in quotas.items():
        data["teams"][team]["gpu_quota"] = quota
    return parse_policy(data)


def job(name: str, gpus: int = 8, team: str = "research", gpu_type: str = "h100", nodes: int = 1,
        priority: str = "normal", **kw: object) -> JobRecord:
    return JobRecord(name=name, namespace=TEAM_NS[team], team=team, owner="U1", image="img", gpus=gpus,
                     gpu_type=gpu_type, nodes=nodes, time_limit_s=3600, priority=priority,  # type: ignore[arg-type]
                     idempotency_key=f"k-{name}", **kw)  # type: ignore[arg-type]


def h100s(n: int, used: dict[str, int] | None = None) -> ClusterFacts:
    return ClusterFacts([NodeFacts(f"h100-{i}", "h100", 8) for i in range(n)], dict(used or {}))


def test_starts_what_fits_and_explains_the_rest_in_queue_order() -> None:
    p = policy(research=32)
    queued = [(job("a"), 1), (job("b"), 2), (job("c"), 3), (job("d", priority="high"), 4)]
    d = decide(p, Books(NOW, h100s(2), active=[], queued=queued))
    assert [j.key for j in d.queue] == ["ml-research/d", "ml-research/a", "ml-research/b", "ml-research/c"]
    assert [s.job.key for s in d.starts] == ["ml-research/d", "ml-research/a"]
    waits = explain(p, d)
    assert [w.key for w in waits] == ["ml-research/b", "ml-research/c"]
    assert [(w.kind, w.why and w.why.kind) for w in waits] == [("why", "capacity"), ("why", "behind")]
    assert all(w.eta == NOW + 3600 for w in waits)  # when the jobs started now reach their limit


def test_a_requeued_job_waits_while_its_old_job_is_being_deleted() -> None:
    books = Books(NOW, h100s(1), active=[], queued=[(job("a"), 1)], in_cluster=frozenset({"ml-research/a"}))
    d = decide(policy(), books)
    assert d.starts == [] and d.records == {} and d.queue == []


def test_unbound_pods_keep_their_gpus_in_the_books() -> None:
    admitted = job("old", state="admitted", admitted_at=NOW - 1)
    d = decide(policy(research=32), Books(NOW, h100s(1), active=[admitted], queued=[(job("new"), 2)]))
    assert d.starts == []  # the admitted job's pod is not bound yet: its node is taken all the same
    (w,) = explain(policy(research=32), d)
    assert w.key == "ml-research/new" and w.kind == "why"


def test_over_quota_job_is_promoted_when_its_team_is_back_under_quota() -> None:
    over = job("over", state="running", started_at=NOW - 60, over_quota=True)
    d = decide(policy(research=8), Books(NOW, h100s(2), active=[over], queued=[], pods={over.key: {"h100-0": 8}},
                                         bound_pods={over.key: 1}))
    assert d.promotions == ["ml-research/over"]


def test_preemption_for_a_blocked_in_quota_job_and_the_drain_after() -> None:
    p = policy(research=8, vision=8)
    low = job("low", team="vision", state="running", started_at=NOW - 60, over_quota=True)
    busy = job("busy", team="vision", state="running", started_at=NOW - 120)
    books = Books(NOW, h100s(2, {"h100-0": 8, "h100-1": 8}), active=[low, busy], queued=[(job("mine"), 5)],
                  pods={low.key: {"h100-0": 8}, busy.key: {"h100-1": 8}}, bound_pods={low.key: 1, busy.key: 1})
    d = decide(p, books)
    assert [(x.victim.key, x.for_key) for x in d.preemptions] == [("ml-vision/low", "ml-research/mine")]
    (w,) = explain(p, d)
    assert (w.kind, w.victims) == ("preempting", 1)
    # next pass: the victim is back in the queue, its pod is still in its grace period
    requeued = dataclasses.replace(low, state="queued")
    after = dataclasses.replace(books, active=[busy], queued=[(job("mine"), 5), (requeued, 6)])
    d2 = decide(p, after)
    assert d2.preemptions == [] and d2.starts == []
    w2 = {w.key: w for w in explain(p, d2)}["ml-research/mine"]
    assert (w2.kind, w2.gpus, w2.gpu_type) == ("draining", 8, "h100")


def test_usage_accrues_for_the_gpus_held() -> None:
    run = job("run", state="running", started_at=NOW - 60)
    d = decide(policy(), Books(NOW, h100s(1), active=[run], queued=[], usage={"research": Usage(0.0, NOW - 3600)},
                               pods={run.key: {"h100-0": 8}}, bound_pods={run.key: 1}))
    assert 7.8 < d.usage["research"].gpu_hours <= 8.0 and d.usage["vision"].gpu_hours == 0.0


def test_ordered_queue_is_the_cycles_order() -> None:
    p = policy()
    queued = [(job("a", team="research"), 1), (job("b", team="vision"), 2), (job("c", team="research"), 3)]
    usage = {"research": Usage(100.0, NOW)}
    d = decide(p, Books(NOW, h100s(0), active=[], queued=queued, usage=usage))
    assert [r.key for r in ordered(queued, d.usage, quotas_of(p))] == [j.key for j in d.queue]
    assert [r.name for r in ordered(queued, usage, quotas_of(p))] == ["b", "a", "c"]  # research used more


@st.composite
def books(draw: st.DrawFn) -> Books:
    n_nodes = draw(st.integers(0, 4))
    facts = ClusterFacts([NodeFacts(f"n{i}", draw(st.sampled_from(["h100", "l40s"])), 8) for i in range(n_nodes)])
    active: list[JobRecord] = []
    pods: dict[str, dict[str, int]] = {}
    bound: dict[str, int] = {}
    for i in range(draw(st.integers(0, 4))):
        if not facts.nodes:
            break
        node = draw(st.sampled_from(facts.nodes))
        gpus = draw(st.sampled_from([1, 2, 4]))
        if facts.used.get(node.name, 0) + gpus > 8:
            continue
        facts.used[node.name] = facts.used.get(node.name, 0) + gpus
        r = job(f"r{i}", gpus=gpus, team=draw(st.sampled_from(["research", "vision"])), gpu_type=str(node.gpu_type),
                state="running", started_at=NOW - draw(st.integers(0, 3000)), over_quota=draw(st.booleans()))
        active.append(r)
        pods[r.key] = {node.name: gpus}
        bound[r.key] = 1
    queued = []
    for i in range(draw(st.integers(0, 8))):
        nodes = draw(st.integers(1, 2))
        queued.append((job(f"q{i}", gpus=nodes * draw(st.sampled_from([1, 4, 8])), nodes=nodes,
                           team=draw(st.sampled_from(["research", "vision"])),
                           gpu_type=draw(st.sampled_from(["h100", "l40s"])),
                           priority=draw(st.sampled_from(["low", "normal", "high"]))), i))
    in_cluster = frozenset(r.key for r, _ in queued if draw(st.integers(0, 9)) == 0)
    return Books(NOW, facts, active, queued, in_cluster, pods, bound)


@settings(max_examples=150, deadline=None)
@given(books())
def test_cycle_invariants(b: Books) -> None:
    p = policy(research=16, vision=8)
    d = decide(p, b)
    assert d == decide(p, b)  # pure: the same picture gives the same decision
    considered = {r.key for r, _ in b.queued} - b.in_cluster
    assert sorted(j.key for j in d.queue) == sorted(considered)
    started = [s.job.key for s in d.starts]
    assert len(started) == len(set(started)) and set(started) <= considered
    taken: dict[str, int] = defaultdict(int)
    for s in d.starts:
        assert len(s.nodes) == s.job.nodes == len(set(s.nodes))
        for node in s.nodes:
            taken[node] += s.job.gpus_per_node
    for node in b.facts.nodes:
        assert b.facts.used.get(node.name, 0) + taken[node.name] <= node.allocatable
    waits = explain(p, d)
    assert sorted(w.key for w in waits) == sorted(considered - set(started))
    active = {r.key: r for r in b.active}
    assert all(active[k].over_quota for k in d.promotions)
    victims = [x.victim.key for x in d.preemptions]
    assert len(victims) == len(set(victims)) and set(victims) <= set(active)
