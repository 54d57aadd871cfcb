"""Several clusters: the policy's `clusters:` key, placement across pools, and the scheduler on pools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.domain.actions import Launch
from bot.domain.cluster.snapshot import Snapshot
from bot.domain.errors import ConfigError, PolicyError
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import Policy, parse_policy
from bot.domain.policy.judge import check_launch, identify
from bot.domain.scheduling.cycle import Books, decide, explain
from bot.domain.scheduling.model import ClusterFacts, NodeFacts
from bot.domain.scheduling.pools import place, pool_of, pooled_facts, pooled_policy, pooled_record, split_pool
from bot.render.queue import why_text

POLICY = Path(__file__).resolve().parents[1] / "chatops.example.yaml"
NOW = 1_800_000_000.0


def data(**changes: Any) -> dict[str, Any]:
    d: dict[str, Any] = yaml.safe_load(POLICY.read_text())
    d["teams"]["research"]["gpu_quota"] = 64
    d.update(changes)
    return d


TWO = {"onprem": {"context": "ctx-onprem"}, "cloud": {"context": "ctx-cloud", "gpu_types": ["h100"]}}


def two() -> Policy:
    return parse_policy(data(clusters=TWO))


def problems(**changes: Any) -> str:
    with pytest.raises(ConfigError) as err:
        parse_policy(data(**changes))
    return "\n".join(err.value.problems)


def job(name: str, gpus: int = 8, nodes: int = 1, gpu_type: str = "h100", **kw: Any) -> JobRecord:
    return JobRecord(name=name, namespace="ml-research", team="research", owner="URES0001", image="img",
                     gpus=gpus, gpu_type=gpu_type, nodes=nodes, time_limit_s=3600, idempotency_key=f"k-{name}", **kw)


def facts(onprem_free: list[int], cloud_free: list[int]) -> ClusterFacts:
    """Two clusters of 8-GPU h100 nodes with the given free GPUs per node (names as the adapter makes them)."""
    nodes, used = [], {}
    for cluster, free in (("onprem", onprem_free), ("cloud", cloud_free)):
        for i, f in enumerate(free):
            name = f"{cluster}/h100-{i}"
            nodes.append(NodeFacts(name, "h100", 8, cluster=cluster))
            used[name] = 8 - f
    return ClusterFacts(nodes, used)


# --- the policy ------------------------------------------------------------------------------------

def test_without_clusters_the_one_cluster_is_default_and_one_entry_is_accepted() -> None:
    assert parse_policy(data()).clusters == {}
    one = parse_policy(data(clusters={"onprem": {"context": "x"}}))
    assert list(one.clusters) == ["onprem"]


def test_a_gpu_type_in_no_cluster_is_an_error_that_names_it() -> None:
    text = problems(clusters={"a": {"context": "x", "gpu_types": ["h100"]}})
    assert "gpu_types.l40s: no cluster offers 'l40s'" in text


def test_unknown_types_namespaces_and_one_context_twice_are_errors() -> None:
    text = problems(clusters={"a": {"context": "x", "gpu_types": ["h200"], "namespaces": ["nope"]},
                              "b": {"context": "x"}})
    assert "clusters.a.gpu_types: 'h200' is not in gpu_types" in text
    assert "clusters.a.namespaces: 'nope' is no team's namespace" in text
    assert "clusters.b.context: 'x' is also cluster 'a'" in text


def test_a_template_names_a_cluster_of_the_policy() -> None:
    templates = {"t": {"image": "ghcr.io/acme/train:1", "cluster": "mars"}}
    assert "templates.t.cluster: 'mars' is not in clusters" in problems(clusters=TWO, templates=templates)


def test_kueue_with_several_clusters_is_refused_with_multikueue_named() -> None:
    assert "MultiKueue" in problems(clusters=TWO, scheduler="kueue")
    parse_policy(data(clusters={"hub": {"context": "x"}}, scheduler="kueue"))  # one cluster is fine


def test_duplicate_cluster_names_are_refused_by_the_loader(tmp_path: Path) -> None:
    from bot.domain.policy.config import load_policy

    text = POLICY.read_text() + "\nclusters:\n  a: {context: x}\n  a: {context: y}\n"
    (tmp_path / "p.yaml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_policy(tmp_path / "p.yaml")
    assert "the key 'a' appears twice" in "\n".join(err.value.problems)


# --- --cluster -----------------------------------------------------------------------------------

def test_cluster_flag_is_checked_and_the_fix_names_a_cluster_that_works() -> None:
    p = two()
    ident = identify(p, "URES0001")
    f = ClusterFacts([NodeFacts("n", "h100", 8), NodeFacts("m", "l40s", 4)])
    base = Launch(image="ghcr.io/acme/train:1.4", gpus=4, gpu_type="l40s", time_limit_s=3600)
    with pytest.raises(PolicyError) as err:
        check_launch(p, ident, Launch(**{**base.__dict__, "cluster": "cloud"}), f)
    assert "Cluster cloud has no l40s GPUs; l40s is on onprem" in str(err.value)
    assert err.value.fix is not None
    assert check_launch(p, ident, err.value.fix, f).cluster == "onprem"  # type: ignore[arg-type]
    with pytest.raises(PolicyError, match="There is no cluster 'mars'"):
        check_launch(p, ident, Launch(**{**base.__dict__, "cluster": "mars"}), f)


# --- placement -------------------------------------------------------------------------------------

def test_a_job_goes_where_its_type_has_the_most_room_and_the_next_one_counts_it() -> None:
    p = two()
    f = pooled_facts(facts([8, 0], [8, 8, 8]))  # 8 free on onprem, 24 on cloud
    where = place(p, [job(n) for n in "abcde"], f, {})
    # 24 > 8, 16 > 8, then 8 = 8 (the policy's first cluster wins a tie), then 8 > 0; then nothing fits
    # anywhere: the last waits where the type is largest
    assert [where.cluster[f"ml-research/{n}"] for n in "abcde"] == ["cloud", "cloud", "onprem", "cloud", "cloud"]


def test_a_gang_goes_where_it_fits_even_with_fewer_gpus_free() -> None:
    p = two()
    f = pooled_facts(facts([8, 8], [4, 4, 4, 4]))  # cloud has 16 free, but no two whole nodes
    assert place(p, [job("g", gpus=16, nodes=2)], f, {}).cluster["ml-research/g"] == "onprem"


def test_a_type_only_one_cluster_offers_goes_there() -> None:
    p = two()
    f = pooled_facts(ClusterFacts([NodeFacts("onprem/l-0", "l40s", 4, cluster="onprem")]))
    assert place(p, [job("l", gpus=4, gpu_type="l40s")], f, {}).cluster["ml-research/l"] == "onprem"


def test_a_pinned_job_goes_to_its_cluster_only() -> None:
    f = pooled_facts(facts([0, 0], [8, 8]))
    assert place(two(), [job("p", cluster_wanted="onprem")], f, {}).cluster["ml-research/p"] == "onprem"


def test_an_unreachable_cluster_gets_no_new_jobs_and_a_job_with_no_other_waits_with_it() -> None:
    p = two()
    f = pooled_facts(facts([8, 8], []))
    where = place(p, [job("a"), job("b", cluster_wanted="onprem"), job("l", gpus=4, gpu_type="l40s")], f,
                  {"onprem": NOW - 60})
    assert where.cluster == {"ml-research/a": "cloud"}
    assert where.blocked == {"ml-research/b": ("onprem", NOW - 60), "ml-research/l": ("onprem", NOW - 60)}


def test_the_scheduler_on_pools_starts_in_the_chosen_cluster_and_explains_per_pool() -> None:
    p = two()
    f = pooled_facts(facts([8], [0]))
    running = pooled_record(job("r", state="running", started_at=NOW - 60, cluster="cloud"), "cloud")
    queue = [job("a"), job("b")]
    where = place(p, queue, f, {})
    books = Books(NOW, f, active=[running], pods={running.key: {"cloud/h100-0": 8}}, bound_pods={running.key: 1},
                  queued=[(pooled_record(r, where.cluster[r.key]), i) for i, r in enumerate(queue)])
    d = decide(pooled_policy(p), books)
    (start,) = d.starts
    assert start.job.key == "ml-research/a" and split_pool(start.job.gpu_type) == ("h100", "onprem")
    assert start.nodes == ["onprem/h100-0"]
    (w,) = explain(p, d)
    assert w.why is not None and why_text(w.why) == "needs 8 × h100 on onprem, 0 free"


def test_pool_keys_are_the_bare_type_with_one_cluster() -> None:
    assert pool_of("h100", "") == "h100" and split_pool("h100") == ("h100", "")
    assert Snapshot(ClusterFacts()).clusters == ()
