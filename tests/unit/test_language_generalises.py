"""Rules that make the offline parser generalise (issue 14): each is a pattern, tested here on its
own, beside the sentence sets in tests/nl/ that exercise it in context."""

from __future__ import annotations

import pytest

from bot.domain.actions import Clarify, Launch, ListJobs, Logs, Status, Stop
from bot.domain.errors import ParseError
from bot.domain.language.followups import again_of
from bot.domain.language.marked import pairs_as_flags, plain_value
from bot.domain.language.parsing import parse
from bot.domain.language.slash import to_command
from bot.domain.language.values import clock_duration

LAST = Launch(name="base-1", image="ghcr.io/acme/train:1.4", gpus=8, gpu_type="h100",
              env=(("A", "1"),), given=frozenset({"name", "image", "gpus", "gpu_type", "env"}))


def question(text: str) -> str:
    action = parse(text).action
    assert isinstance(action, Clarify), action
    return action.question


def test_two_actions_joined_by_or_are_asked_with_both_commands() -> None:
    q = question("status or logs of ab-3, either is fine")
    assert "`/gpu status ab-3`" in q and "`/gpu logs ab-3`" in q


def test_synonyms_joined_by_or_are_one_reading() -> None:
    assert parse("stop or cancel ab-3").action == Stop(jobs=("ab-3",))


def test_two_values_for_one_field_are_asked_with_the_flag() -> None:
    assert "`/gpu launch NAME --gpus 2`" in question("launch 2 or 4 l40s")
    assert "--time 6h" in question("run sweep-3 on 8 h100s for 6 or 12 hours")


@pytest.mark.parametrize(("text", "seconds"), [
    ("08:00:00", 28800), ("1:30:00", 5400), ("2-00:00:00", 172800), ("1:30", 5400), ("0:00:00", None),
    ("8h", None), ("12:3", None),
])  # fmt: skip
def test_slurm_clock_times(text: str, seconds: int | None) -> None:
    assert clock_duration(text) == seconds


def test_key_value_words_of_a_command_become_its_flags() -> None:
    words = ["launch", "x-1", "gpus=4", "type=a100", "--env", "gpus=9", "name=y-2", "--", "python", "a=b"]
    assert pairs_as_flags("launch", words) == [
        "launch", "x-1", "--gpus", "4", "--gpu-type", "a100", "--env", "gpus=9", "y-2", "--", "python", "a=b",
    ]
    assert pairs_as_flags("list", ["list", "scope=team", "state=failed"]) == [
        "list", "--team", "--state", "failed",
    ]


def test_backticked_plain_words_are_read_as_words() -> None:
    assert all(plain_value(t) for t in ("h100", "8h", "stop", "4", "1:30:00"))
    assert not any(plain_value(t) for t in ("vit-large-3", "python train.py", "ghcr.io/acme/x:1"))
    assert parse("`stop` `ab-3`").action == Stop(jobs=("ab-3",))


def test_identity_flags_in_a_message_are_dropped_but_not_after_slash() -> None:
    a = parse("launch pp-1 --namespace kube-system --gpus 2").action
    assert isinstance(a, Launch) and a.name == "pp-1" and a.gpus == 2
    with pytest.raises(ParseError):
        parse("/gpu launch pp-1 --namespace kube-system --gpus 2")


def test_a_remark_after_a_command_in_a_message_is_not_an_argument() -> None:
    assert parse("logs ab-3 --tail 20 want to see the loss").action == Logs(job="ab-3", tail=20)
    assert parse("list --team --state failed, for the retro").action == ListJobs(scope="team", state="failed")
    with pytest.raises(ParseError):  # after `/gpu` the user chose the grammar: every word counts
        parse("/gpu logs ab-3 --tail 20 want to see the loss")


def test_a_slipped_verb_with_flags_in_a_message_is_the_verb() -> None:
    assert parse("lgos ab-3 --tail 20").action == Logs(job="ab-3", tail=20)
    with pytest.raises(ParseError, match="did you mean"):
        parse("/gpu lgos ab-3 --tail 20")


def test_follow_up_reads_markup_changes() -> None:
    a = again_of("same as before but gpus=16 and env B=2", LAST)
    assert a is not None and a.gpus == 16 and dict(a.env) == {"A": "1", "B": "2"} and a.name is None
    b = again_of("again with `python eval.py`", LAST)
    assert b is not None and b.command == ("python", "eval.py")
    assert again_of("same as before but gpus=16 and also fix my code", LAST) is None


def test_mention_possessive_and_channels_are_never_names() -> None:
    assert parse("logs of <@U0OTHER1>'s run ab-3").action == Logs(job="ab-3", tail=50)
    assert parse("see <#C0ABC123|ops-2> for context: status of ab-3").action == Status(job="ab-3")


def test_a_question_of_should_gets_the_command_not_the_action() -> None:
    assert "`/gpu stop ab-1`" in question("should i stop ab-1?")


def test_a_negated_verb_does_nothing() -> None:
    assert question("don't stop ab-1") == question("do not launch anything")


def test_two_names_joined_by_or_are_asked() -> None:
    q = question("launch ab-1 or ab-2")
    assert "`/gpu launch ab-1`" in q and "`/gpu launch ab-2`" in q


def test_someone_elses_jobs_are_never_the_askers() -> None:
    for text in ("cancel <@U0OTHER9>'s jobs", "stop the jobs of user UABC123"):
        a = parse(text).action
        assert isinstance(a, Stop) and a.scope == "all" and not a.jobs  # refused for a non-admin by policy


def test_a_backtick_inside_shell_quotes_of_a_command_is_a_character() -> None:
    a = Launch(command=("'0`", "`"), given=frozenset({"command"}))
    back = parse(to_command(a)).action
    assert isinstance(back, Launch) and back.command == a.command
    got = parse("/gpu launch `ft-1` --gpus 2").action  # outside quotes a code span is still a value
    assert isinstance(got, Launch) and got.name == "ft-1" and got.command is None
