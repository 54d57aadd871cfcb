"""Small truths in pure logic: cut text ends in "…", logs are cut at line boundaries and only when they
do not fit, thread replies name their job, a diagnosis names only flags that exist (``--memory`` and
``--cpus`` do: parsed, checked against node allocatable with a fix, rendered into the pods) and the
GPU's own memory, and a finished job says when it ended."""

from __future__ import annotations

import calendar
import re

import pytest

from bot.domain import messages as msg
from bot.domain.actions import Launch
from bot.domain.clipping import clip
from bot.domain.cluster.diagnosis import explain
from bot.domain.cluster.job_states import Failure
from bot.domain.cluster.manifests import render_job
from bot.domain.errors import ParseError, Refusal
from bot.domain.jobs import JobRecord
from bot.domain.language.slash import FLAGS, command_for, parse_command, to_command
from bot.domain.policy.config import load_policy
from bot.domain.policy.judge import check_launch, identify, judge_launch
from bot.domain.scheduling.model import ClusterFacts, NodeFacts
from bot.render.cards import job_card, thread_reply
from bot.render.logs import fit_lines
from tests.support.botstack import POLICY_FILE

R = JobRecord(name="llama", namespace="ml-research", team="research", owner="U1", image="ghcr.io/a/t:1",
              gpus=8, gpu_type="l40s", nodes=2, time_limit_s=3600, started_at=1.0, finished_at=100.0)
CUDA = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB."


def test_clipped_text_ends_in_an_ellipsis_and_fits() -> None:
    assert clip("short", 10) == "short"
    cut = clip("x" * 50, 10)
    assert len(cut) == 10 and cut.endswith("…")
    card = job_card(JobRecord(**{**R.__dict__, "state": "failed", "diagnosis": "why " * 2000}), None, 200.0)[1]
    state = card[1].to_dict()["text"]["text"]
    assert state.endswith("…") and len(state) <= 2900


def test_fifty_lines_fit_inline_a_long_log_is_cut_at_a_line_boundary() -> None:
    fifty = "\n".join(f"[rank0] step {i:04d} loss 1.2345 lr 3e-4 tokens/s 12345 " + "x" * 40 for i in range(50))
    fit = fit_lines(fifty)
    assert fit.complete and fit.shown == 50 and fit.total == 50
    long = "\n".join(f"line {i:05d} " + "y" * 90 for i in range(1000))
    cut = fit_lines(long)
    assert not cut.complete and 0 < cut.shown < 1000
    shown = [line for chunk in cut.chunks for line in chunk]
    assert shown == long.split("\n")[-cut.shown:], "the newest whole lines, in order"
    assert all(len("\n".join(c)) <= 2900 for c in cut.chunks)
    wide = fit_lines("z" * 10_000)
    assert not wide.complete and wide.chunks[0][0].endswith("…")


def test_thread_replies_name_their_job() -> None:
    for event in ("started", "succeeded", "failed", "timedout", "waiting", "stopped"):
        text, _ = thread_reply(R, event, 200.0)
        assert "`llama`" in text, (event, text)


def test_a_diagnosis_suggests_only_flags_that_exist() -> None:
    known = {flag for flags in FLAGS.values() for flag in flags}
    texts = [explain(Failure(kind, message="m"), R, "", 7 * 86400, "64Gi")  # type: ignore[arg-type]
             for kind in ("oomkilled", "image_pull", "unschedulable", "deadline", "exit_code", "node_lost",
                          "evicted", "unknown")]
    texts += [explain(Failure("exit_code", exit_code=1), R, CUDA), explain(Failure("exit_code", exit_code=1), R,
              "Watchdog caught collective operation timeout")]
    for text in texts:
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", text):
            assert flag in known, (flag, text)
        for command in re.findall(r"`(/gpu launch [^`]+)`", text):
            assert isinstance(parse_command(command), Launch), command  # the grammar takes it as it is
    oom = explain(Failure("oomkilled", exit_code=137), R, "", None, "64Gi")
    assert "memory limit of 256Gi per node" in oom and "--memory 512Gi" in oom
    asked = JobRecord(**{**R.__dict__, "memory": "300Gi"})
    assert "--memory 600Gi" in explain(Failure("oomkilled", exit_code=137), asked, "", None, "64Gi")


def _facts() -> ClusterFacts:
    return ClusterFacts(nodes=[NodeFacts(f"h{i}", "h100", 8, cpu=96.0, memory=1056 * 2**30) for i in range(2)])


def test_memory_and_cpus_are_parsed_checked_against_nodes_and_rendered() -> None:
    policy = load_policy(POLICY_FILE)
    ident = identify(policy, "URES0001")
    base = "/gpu launch m --image ghcr.io/acme/t:1 --gpus 8 --gpu-type h100"
    a = parse_command(f"{base} --memory 768Gi --cpus 48")
    assert isinstance(a, Launch) and (a.memory, a.cpus) == ("768Gi", 48)
    assert to_command(a).endswith("--memory 768Gi --cpus 48")
    checked = check_launch(policy, ident, a, _facts())
    record = JobRecord(name="m", namespace="ml-research", team="research", owner="URES0001", image="ghcr.io/acme/t:1",
                       gpus=8, gpu_type="h100", memory=checked.memory, cpus=checked.cpus)
    limits = render_job(record, policy)["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["memory"] == "768Gi" and limits["cpu"] == "48"
    default = render_job(JobRecord(**{**record.__dict__, "memory": None, "cpus": None}), policy)
    assert default["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["memory"] == "512Gi"
    with pytest.raises(ParseError) as bad:
        parse_command(f"{base} --memory 256GB")
    assert bad.value.fix is not None and "--memory 256Gi" in bad.value.fix
    for too_much, fixed in (("--memory 2Ti", "--memory 1056Gi"), ("--cpus 200", "--cpus 96")):
        with pytest.raises(Refusal) as refused:
            judge_launch(policy, ident, parse_command(f"{base} {too_much}"), _facts())  # type: ignore[arg-type]
        fix = command_for(refused.value.fix)  # a refusal carries an action; shown as a command at the edge
        assert "per node" in refused.value.why and fix is not None and fixed in fix
        again = parse_command(fix)
        check_launch(policy, ident, again, _facts())  # type: ignore[arg-type]  # the fix itself passes


def test_a_cuda_oom_quotes_the_memory_of_the_gpu_it_ran_on() -> None:
    text = explain(Failure("exit_code", exit_code=1), R, CUDA)
    assert "48 GB" in text and "80 GB" not in text
    h100 = JobRecord(**{**R.__dict__, "gpu_type": "h100"})
    assert "80 GB" in explain(Failure("exit_code", exit_code=1), h100, CUDA)


def test_a_finished_job_says_when_it_ended() -> None:
    now = float(calendar.timegm((2026, 12, 1, 21, 0, 0, 0, 0, 0)))
    at = now - 90 * 60  # 19:30 UTC
    assert msg.already_finished("x", "succeeded", at, now) == "`x` already succeeded at 19:30 UTC; nothing to stop."
    assert "timed out on Nov 30 at" in msg.already_finished("x", "timedout", at - 86400, now)
