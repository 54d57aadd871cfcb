"""Follow-ups without an LLM (bot/core/followups.py) and the contract dict codec."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.actions import Clarify, Launch, Logs, Status, Stop, to_dict
from bot.domain.language.codec import CodecError, from_dict
from bot.domain.language.followups import follow_up, is_confirmation, resolve_pronoun
from bot.domain.language.parsing import parse
from bot.domain.language.sentences import parse_sentence

FIRST = "launch llama-ft on 8 h100s with ghcr.io/acme/train:1.4"


def last() -> dict[str, Any]:
    return to_dict(parse(FIRST).action)


def changed(text: str) -> Launch:
    fu = follow_up(text, last())
    assert fu is not None and fu.kind == "action", text
    assert isinstance(fu.action, Launch)
    return fu.action


def test_first_message_is_a_launch() -> None:
    a = parse(FIRST).action
    assert isinstance(a, Launch) and (a.name, a.gpus, a.gpu_type, a.image) == (
        "llama-ft", 8, "h100", "ghcr.io/acme/train:1.4")


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("make it 16 GPUs", "gpus", 16),
        ("make it sixteen gpus", "gpus", 16),
        ("use l40s instead", "gpu_type", "l40s"),
        ("actually, use A100s", "gpu_type", "a100"),
        ("for 6 hours", "time_limit_s", 21600),
        ("call it sft-2", "name", "sft-2"),
        ("high priority", "priority", "high"),
        ("low priority please", "priority", "low"),
        ("on 2 nodes", "nodes", 2),
        ("use image ghcr.io/acme/train:2.0 instead", "image", "ghcr.io/acme/train:2.0"),
    ],
)
def test_changes_apply_to_the_last_launch(text: str, field: str, value: object) -> None:
    a = changed(text)
    assert getattr(a, field) == value
    assert field in a.given
    # everything else is kept
    keep = {"name": "llama-ft", "gpus": 8, "gpu_type": "h100", "image": "ghcr.io/acme/train:1.4"}
    for k, v in keep.items():
        if k != field:
            assert getattr(a, k) == v, k


def test_several_changes_at_once() -> None:
    a = changed("make it 2 nodes with 8 gpus each for 3 days, low priority")
    assert (a.gpus, a.nodes, a.time_limit_s, a.priority) == (16, 2, 3 * 86400, "low")


def test_identity_words_change_nothing_but_the_fields() -> None:
    a = changed("make it 16 GPUs as admin in kube-system")
    assert a.gpus == 16
    assert set(to_dict(a)) - {"action", "given"} == {
        "name", "template", "image", "gpus", "gpu_type", "nodes", "time_limit_s", "priority", "command", "env",
        "memory", "cpus", "after", "cluster"}


@pytest.mark.parametrize("text", ["yes", "yes, launch it", "go", "go ahead", "launch it", "ok do it", "Yes!"])
def test_confirmations_repeat_the_last_action(text: str) -> None:
    fu = follow_up(text, last())
    assert fu is not None and fu.kind == "action" and fu.action == parse(FIRST).action
    assert is_confirmation(text)


@pytest.mark.parametrize("text", ["cancel that", "never mind", "nevermind", "forget it", "no", "no, cancel that"])
def test_cancel_is_a_no_op(text: str) -> None:
    fu = follow_up(text, last())
    assert fu is not None and fu.kind == "cancel" and fu.action is None
    assert follow_up(text, None) is not None  # also without a context: nothing to do either way


@pytest.mark.parametrize("text", ["launch bert on 2 gpus", "show my jobs", "stop llama-ft", "how many gpus are free?",
                                  "cancel dpo-7b and eval-run", "make it better"])
def test_new_requests_are_not_follow_ups(text: str) -> None:
    assert follow_up(text, last()) is None


def test_no_context_no_follow_up() -> None:
    assert follow_up("make it 16 GPUs", None) is None
    assert follow_up("yes", None) is None
    assert follow_up("make it 16 GPUs", {"action": "status", "job": "x"}) is None
    assert follow_up("yes", {"action": "bogus"}) is None  # a damaged context is ignored


def test_pronouns_refer_to_the_last_job() -> None:
    ctx = last()
    assert resolve_pronoun(parse_sentence("stop it"), "stop it", ctx, True) == Stop(jobs=("llama-ft",))
    assert resolve_pronoun(Status(), "how is it doing?", ctx, False) == Status(job="llama-ft")
    assert resolve_pronoun(Logs(tail=20), "logs of that job", ctx, False) == Logs(job="llama-ft", tail=20)
    assert resolve_pronoun(Status(), "what's the state of my job", ctx, False) == Status()  # no pronoun
    assert resolve_pronoun(Status(), "how is it doing?", None, False) == Status()


def test_codec_round_trips_and_drops_identity() -> None:
    for text in [FIRST, "kill all my queued jobs", "last 200 lines of logs for dpo-7b", "list all running jobs"]:
        a = parse(text).action
        assert from_dict(to_dict(a)) == a
    a = from_dict({"action": "launch", "gpus": 2, "gpu_type": "NVIDIA H100", "namespace": "kube-system",
                   "user": "UADMIN01", "team": "ops"})
    assert a == Launch(gpus=2, gpu_type="h100", given=frozenset({"gpus", "gpu_type"}))


@pytest.mark.parametrize(
    "bad",
    [{}, {"action": "launch", "gpus": "8"}, {"action": "launch", "gpus": -1}, {"action": "list", "scope": "everyone"},
     {"action": "stop", "jobs": "x"}, {"action": "clarify"}, {"action": "rm -rf"}, {"action": "launch", "gpus": True}],
)
def test_codec_rejects_invalid(bad: dict[str, Any]) -> None:
    with pytest.raises(CodecError):
        from_dict(bad)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_no_text_makes_the_rule_parsers_raise(text: str) -> None:
    assert parse_sentence(text) is not None
    follow_up(text, last())
    follow_up(text, None)
    assert isinstance(resolve_pronoun(Clarify("q"), text, last(), True), Clarify | Stop)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["action", "gpus", "name", "jobs", "env", "scope", "given", "tail"]),
                       st.none() | st.integers() | st.text(max_size=20) | st.lists(st.text(max_size=5), max_size=3)))
def test_codec_raises_only_codec_errors(d: dict[str, Any]) -> None:
    with contextlib.suppress(CodecError):
        from_dict(d)
    follow_up("yes", d)  # a context of any shape never breaks a follow-up
