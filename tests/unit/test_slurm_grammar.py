"""The grammar of extend / hold / release / requeue / history / report and `launch --after`; the pure
dependency rules (property tests: no job is let in before its dependencies end as asked; cycles found);
the accounting over a simulated month."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import messages as msg
from bot.domain.accounting.usage import finished_within, gpu_hours, report_rows
from bot.domain.actions import After, Extend, History, Hold, Launch, Release, Report, Requeue, to_dict
from bot.domain.errors import ParseError
from bot.domain.jobs import JobRecord
from bot.domain.language.slash import SUBCOMMANDS, parse_command, to_command
from bot.domain.scheduling.dependencies import find_cycle, graph_edges, overall, verdict

ROUND_TRIPS = [
    ("/gpu extend llama-ft 4h", Extend(job="llama-ft", by_s=4 * 3600)),
    ("/gpu extend llama-ft 90m", Extend(job="llama-ft", by_s=5400)),
    ("/gpu hold a b", Hold(jobs=("a", "b"))),
    ("/gpu release a", Release(jobs=("a",))),
    ("/gpu requeue a", Requeue(jobs=("a",))),
    ("/gpu history", History()),
    ("/gpu history --days 30 --team --state failed", History(scope="team", state="failed", days=30)),
    ("/gpu history --all", History(scope="all")),
    ("/gpu report", Report()),
    ("/gpu report --since 7d --by user", Report(by="user", since_s=7 * 86400)),
    ("/gpu report --by gpu-type", Report(by="gpu_type")),
]


@pytest.mark.parametrize(("text", "action"), ROUND_TRIPS)
def test_new_verbs_parse_and_print_back(text: str, action: object) -> None:
    parsed = parse_command(text)
    assert parsed == action
    assert parse_command(to_command(parsed)) == parsed


def test_launch_after_parses_conditions_and_prints_back() -> None:
    a = parse_command("/gpu launch eval --gpus 2 --after pretrain-7,clean:any,probe:notok")
    assert isinstance(a, Launch)
    assert a.after == (After("pretrain-7"), After("clean", "any"), After("probe", "notok"))
    assert to_dict(a)["after"] == [{"job": "pretrain-7", "condition": "ok"}, {"job": "clean", "condition": "any"},
                                   {"job": "probe", "condition": "notok"}]
    assert parse_command(to_command(a)) == a
    slurm = parse_command("/gpu launch eval --after pretrain-7:afterany")
    assert isinstance(slurm, Launch) and slurm.after == (After("pretrain-7", "any"),)


@pytest.mark.parametrize(("text", "fix"), [
    ("/gpu extend foo", "/gpu extend foo 2h"),
    ("/gpu extend 4h foo", "/gpu extend foo 4h"),
    ("/gpu extend foo 4", "/gpu extend foo 4h"),
    ("/gpu hold", "/gpu list"),
    ("/gpu report --by usr", "/gpu report --by user"),
    ("/gpu launch x --after pre:okk", "/gpu launch x --after pre:ok"),
    ("/gpu history --days 0", "/gpu history --days 7"),
])  # fmt: skip
def test_refusals_carry_a_working_line(text: str, fix: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_command(text)
    assert err.value.fix == fix
    parse_command(fix)


def test_help_covers_the_new_verbs() -> None:
    general = msg.help_text(None)
    for sub in ("extend", "hold", "release", "requeue", "history", "report"):
        assert sub in SUBCOMMANDS and f"`/gpu {sub}" in general, sub
        assert msg.help_text(sub).startswith(f"*`/gpu {sub}")
    assert "--after" in msg.help_text("launch")


# --- dependencies: pure rules ---------------------------------------------------------------------------

STATES = ["queued", "admitted", "running", "succeeded", "failed", "stopped", "timedout"]


@given(st.sampled_from(["ok", "any", "notok"]), st.sampled_from(STATES))
def test_a_dependency_is_met_only_once_its_job_ended_as_asked(condition: str, state: str) -> None:
    v = verdict(condition, state)
    ended = state in ("succeeded", "failed", "stopped", "timedout")
    if not ended:
        assert v == "wait"
    elif condition == "any":
        assert v == "met"
    else:
        assert (v == "met") == ((state == "succeeded") == (condition == "ok"))


@given(st.lists(st.tuples(st.sampled_from(["ok", "any", "notok"]), st.sampled_from(STATES)), max_size=6))
def test_all_dependencies_decide_together(deps: list[tuple[str, str]]) -> None:
    decision, which = overall(deps)
    verdicts = [verdict(c, s) for c, s in deps]
    if decision == "met":
        assert all(v == "met" for v in verdicts)
    elif decision == "never":
        assert which is not None and verdicts[which] == "never"
    else:
        assert "never" not in verdicts and which is not None and verdicts[which] == "wait"


@settings(max_examples=200)
@given(st.integers(min_value=2, max_value=12), st.integers(min_value=0, max_value=10_000))
def test_cycles_are_found_and_dags_pass(n: int, seed: int) -> None:
    rng = random.Random(seed)
    # a DAG: edges only from a higher to a lower number
    graph = {f"j{i}": [f"j{k}" for k in range(i) if rng.random() < 0.4] for i in range(n)}
    start = f"j{n}"  # a new job after everything: never a cycle
    assert find_cycle(start, [f"j{n - 1}"], graph_edges(graph)) is None
    # the new job is j0's dependency and depends on the top of a chain that reaches j0: a cycle
    graph["j0"] = [start]
    chain = [f"j{i}" for i in range(n)]
    for a, b in zip(chain[1:], chain, strict=False):
        graph[a] = [*graph[a], b]
    cycle = find_cycle(start, [chain[-1]], graph_edges(graph))
    assert cycle is not None and cycle[0] == cycle[-1] == start


# --- accounting over a simulated month -------------------------------------------------------------------

DAY = 86400.0


def _job(i: int, start: float, hours: float, gpus: int, team: str, gpu_type: str, state: str) -> JobRecord:
    return JobRecord(name=f"j{i}", namespace="ns", team=team, owner=f"U{i % 3}", image="x", gpus=gpus,
                     gpu_type=gpu_type, state=state, submitted_at=start - 60, admitted_at=start, started_at=start,
                     finished_at=start + hours * 3600)  # type: ignore[arg-type]


@settings(max_examples=30)
@given(st.integers(min_value=0, max_value=10_000))
def test_a_month_of_jobs_reports_the_gpu_hours_they_ran(seed: int) -> None:
    rng = random.Random(seed)
    now = 1_800_000_000.0
    month = now - 30 * DAY
    jobs = [_job(i, month + rng.uniform(0, 29 * DAY), rng.uniform(0.1, 20), rng.choice([1, 2, 8]),
                 rng.choice(["a", "b"]), rng.choice(["h100", "l40s"]), rng.choice(["succeeded", "failed", "stopped"]))
            for i in range(rng.randint(1, 60))]
    ran = sum(j.gpus * ((j.finished_at or 0) - (j.started_at or 0)) / 3600 for j in jobs)
    prices = {"h100": 2.5, "l40s": 1.0}
    for by in ("user", "team", "gpu_type"):
        rows = report_rows(jobs, by, month, now, prices)
        assert sum(r.gpu_hours for r in rows) == pytest.approx(ran)
        assert sum(r.jobs for r in rows) == len(jobs)
    by_type = {r.group: r for r in report_rows(jobs, "gpu_type", month, now, prices)}
    for t, price in prices.items():
        if t in by_type:
            assert by_type[t].cost == pytest.approx(by_type[t].gpu_hours * price)
    # weeks add up to the month
    weeks = sum(sum(r.gpu_hours for r in report_rows(jobs, "team", month + k * 7.5 * DAY,
                                                       month + (k + 1) * 7.5 * DAY, prices)) for k in range(4))
    assert weeks == pytest.approx(ran)
    assert [j.name for j in finished_within(jobs, month, None)] == \
        [j.name for j in sorted(jobs, key=lambda j: j.finished_at or 0, reverse=True)]
    assert all(gpu_hours(j, now) > 0 for j in jobs)


def test_policy_keys_gpu_prices_and_retention() -> None:
    from pathlib import Path

    import yaml

    from bot.domain.errors import ConfigError
    from bot.domain.policy.config import parse_policy

    data = yaml.safe_load((Path(__file__).resolve().parents[1] / "chatops.example.yaml").read_text())
    policy = parse_policy({**data, "gpu_prices": {"h100": 2.5}, "retention": "30d"})
    assert policy.gpu_prices == {"h100": 2.5} and policy.retention == 30 * 86400
    assert parse_policy(data).retention == 90 * 86400
    with pytest.raises(ConfigError) as err:
        parse_policy({**data, "gpu_prices": {"k80": 1.0}})
    assert "gpu_prices.k80" in str(err.value)
