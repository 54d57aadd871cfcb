"""The `/gpu` grammar: every subcommand, every error with its exact fix, and round-trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.actions import Gpus, Help, Launch, ListJobs, Logs, Queue, Status, Stop
from bot.domain.errors import ParseError
from bot.domain.language.parsing import parse
from bot.domain.language.slash import parse_command, to_command
from bot.domain.language.values import normalize_gpu_type


def test_launch_full() -> None:
    a = parse(
        "/gpu launch llama-ft --template llama-finetune --image ghcr.io/acme/train:1.4 --gpus 16 "
        "--gpu-type 'NVIDIA H100' --nodes=2 --time 1h30m --priority high --env A=1 --env B=x=y "
        "-- python train.py --lr 3e-4"
    ).action
    assert a == Launch(
        name="llama-ft", template="llama-finetune", image="ghcr.io/acme/train:1.4", gpus=16, gpu_type="h100",
        nodes=2, time_limit_s=5400, priority="high", command=("python", "train.py", "--lr", "3e-4"),
        env=(("A", "1"), ("B", "x=y")),
        given=frozenset({"name", "template", "image", "gpus", "gpu_type", "nodes", "time_limit_s", "priority",
                         "env", "command"}),
    )  # fmt: skip


def test_launch_given_only_explicit() -> None:
    a = parse_command("launch --template t --gpus=4")
    assert isinstance(a, Launch)
    assert a.given == {"template", "gpus"} and a.name is None and a.nodes == 1


@pytest.mark.parametrize(
    ("raw", "model"),
    [("H100", "h100"), ("NVIDIA H100", "h100"), ("h100-80gb", "h100"), ("a100-80gb", "a100"), ("A100s", "a100"),
     ("L40S", "l40s"), ("l4", "l4"), ("a10g", "a10g"), ("T4s", "t4"), ("mi300x", "mi300x"), ("h100_sxm", "h100")],
)  # fmt: skip
def test_gpu_type_normalised(raw: str, model: str) -> None:
    assert normalize_gpu_type(raw) == model
    a = parse_command(f"launch x --gpu-type '{raw}'")
    assert isinstance(a, Launch) and a.gpu_type == model


def test_slack_formatting() -> None:
    assert parse("`/gpu launch “my-job” --image <http://ghcr.io/a/b:1|ghcr.io/a/b:1>`").action == Launch(
        name="my-job", image="ghcr.io/a/b:1", given=frozenset({"name", "image"})
    )
    assert parse("<@U123> /gpu status llama-ft").action == Status(job="llama-ft")


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("/gpu status", Status()),
        ("/gpu status llama-ft", Status(job="llama-ft")),
        ("/gpu list", ListJobs()),
        ("/gpu list --team --state running", ListJobs(scope="team", state="running")),
        ("/gpu list --all", ListJobs(scope="all")),
        ("/gpu list --state=failed", ListJobs(state="failed")),
        ("/gpu logs dpo-7b", Logs(job="dpo-7b")),
        ("/gpu logs dpo-7b --tail 200", Logs(job="dpo-7b", tail=200)),
        ("/gpu stop a-1 b-2", Stop(jobs=("a-1", "b-2"))),
        ("/gpu stop --mine", Stop(scope="mine")),
        ("/gpu stop --mine --state queued", Stop(scope="mine", state="queued")),
        ("/gpu stop --state queued", Stop(scope="mine", state="queued")),
        ("/gpu queue", Queue()),
        ("/gpu gpus", Gpus()),
        ("/gpu help", Help()),
        ("/gpu help launch", Help(topic="launch")),
        ("/gpu", Help()),
    ],
)
def test_subcommands(text: str, action: object) -> None:
    assert parse(text).action == action


@pytest.mark.parametrize(
    ("text", "why", "fix"),
    [
        ("launch x --gpu 8", "Did you mean `--gpus`?", "/gpu launch x --gpus 8"),
        ("launch x --gpu=8", "`--gpu` is not a flag", "/gpu launch x --gpus=8"),
        ("launch x --gpu_type h100", "--gpu-type", "/gpu launch x --gpu-type h100"),
        ("list --stat running", "Did you mean `--state`?", "/gpu list --state running"),
        ("launch x --gpus", "`--gpus` needs a value", "/gpu launch x --gpus 8"),
        ("launch x --gpus --time 6h", "`--gpus` needs a value", "/gpu launch x --gpus 8 --time 6h"),
        ("launch x --gpus eight", "`eight` is not a whole number", "/gpu launch x --gpus 8"),
        ("launch x --gpus 2.5", "`2.5` is not a whole number", "/gpu launch x --gpus 3"),
        ("launch x --gpus 0", "must be at least 1, not 0", "/gpu launch x --gpus 1"),
        ("launch x --gpus 4 --nodes -2", "must be at least 1, not -2", "/gpu launch x --gpus 4 --nodes 2"),
        ("launch llama-ft --gpus 8 --time 12", "12 has no unit", "/gpu launch llama-ft --gpus 8 --time 12h"),
        ("launch x --time 6hours", "is not a duration", "/gpu launch x --time 6h"),
        ("launch x --time soon", "is not a duration", "/gpu launch x --time 6h"),
        ("launch My_Job --gpus 2", "not a valid job name", "/gpu launch my-job --gpus 2"),
        ("status Bad.Name", "not a valid job name", "/gpu status bad-name"),
        ("launch x --gpus 10 --nodes 4", "cannot be split evenly", "/gpu launch x --gpus 8 --nodes 4"),
        ("launch x --nodes 2", "cannot be split evenly", "/gpu launch x --nodes 2 --gpus 2"),
        ("launch x --priority urgent", "not one of low, normal, high", "/gpu launch x --priority high"),
        ("launch x --priority hihg", "not one of low, normal, high", "/gpu launch x --priority high"),
        ("launch x --priority zzz", "not one of low, normal, high", "/gpu launch x --priority high"),
        ("list --state done", "not one of queued, running, succeeded, failed, stopped", "/gpu list --state succeeded"),
        ("stop --mine --state runing", "not one of", "/gpu stop --mine --state running"),
        ("launch x --env FOO", "is not of the form NAME=VALUE", "/gpu launch x --env FOO=value"),
        ("launch x --env 1X=2", "not a valid environment variable name", "/gpu launch x --env _1X=2"),
        ("launch x --env my-var=1", "not a valid environment variable name", "/gpu launch x --env my_var=1"),
        ("logs", "`/gpu logs` needs a job name", "/gpu list"),
        ("logs --tail 5", "`/gpu logs` needs a job name", "/gpu list"),
        ("stop", "needs job names or `--mine`", "/gpu list"),
        ("logs x --tail 0", "`--tail` must be at least 1", "/gpu logs x --tail 50"),
        ("logs x --tail -20", "`--tail` must be at least 1", "/gpu logs x --tail 20"),
        ("status a-1 b-2", "takes one job name", "/gpu status a-1"),
        ("logs a-1 b-2", "takes one job name", "/gpu logs a-1"),
        ("launch a-1 python train.py", "put the command after `--`", "/gpu launch a-1 -- python train.py"),
        ("launch a-1 b-2 --gpus 2", "takes one job name", "/gpu launch a-1 --gpus 2"),
        ("list running", "takes no arguments", "/gpu list --state running"),
        ("list --team --all", "cannot be used together", "/gpu list --team"),
        ("queue now", "takes no arguments", "/gpu queue"),
        ("help lunch", "no help topic", "/gpu help launch"),
        ("launch x --gpus 2 --gpus 4", "cannot be used together", "/gpu launch x --gpus 4"),
        ("launch x --image ghcr.io/Acme/t:1", "not a valid image reference", "/gpu launch x --image ghcr.io/acme/t:1"),
        ("launch 'x", "check the quotes", None),
    ],
)  # fmt: skip
def test_errors(text: str, why: str, fix: str | None) -> None:
    with pytest.raises(ParseError) as err:
        parse_command(text)
    assert why in err.value.why
    assert err.value.fix == fix
    if fix and fix != "/gpu list":
        parse(fix)  # the suggested command is itself valid


def test_slash_errors_propagate_through_parse() -> None:
    with pytest.raises(ParseError, match="not a flag"):
        parse("/gpu launch x --gpu 8")


@pytest.mark.parametrize(
    "action",
    [Status(), Status(job="a"), ListJobs(scope="team", state="failed"), Logs(job="a", tail=10), Stop(jobs=("a", "b")),
     Stop(scope="all", state="queued"), Queue(), Gpus(), Help(), Help(topic="stop")],
)  # fmt: skip
def test_to_command_round_trip_other(action: object) -> None:
    assert parse(to_command(action)).action == action  # type: ignore[arg-type]


def test_to_command_canonical() -> None:
    a = Launch(
        name="llama-ft", gpus=32, gpu_type="h100", nodes=4, time_limit_s=43200, command=("python", "t.py")
    )
    assert (
        to_command(a) == "/gpu launch llama-ft --gpus 32 --gpu-type h100 --nodes 4 --time 12h -- python t.py"
    )


_names = st.from_regex(r"[a-z][a-z0-9-]{0,20}[a-z0-9]", fullmatch=True)
_words = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=8)


@given(
    name=st.none() | _names,
    template=st.none() | _names,
    image=st.none()
    | st.sampled_from(["ghcr.io/acme/train:1.4", "nvcr.io/nvidia/pytorch:24.05-py3", "busybox"]),
    nodes=st.integers(1, 8),
    per=st.integers(1, 8),
    gpu_type=st.none() | st.sampled_from(["a100", "h100", "l40s", "t4"]),
    time=st.none() | st.integers(1, 10**6),
    priority=st.sampled_from(["low", "normal", "high"]),
    env=st.dictionaries(st.from_regex(r"[A-Z_][A-Z0-9_]{0,6}", fullmatch=True), _words, max_size=3),
    command=st.none() | st.lists(_words | st.just("--x y"), min_size=1, max_size=4),
)
def test_launch_round_trip(name: str | None, template: str | None, image: str | None, nodes: int, per: int,
                           gpu_type: str | None, time: int | None, priority: str, env: dict[str, str],
                           command: list[str] | None) -> None:  # fmt: skip
    a = Launch(
        name=name, template=template, image=image, gpus=nodes * per, gpu_type=gpu_type, nodes=nodes,
        time_limit_s=time, priority=priority, env=tuple(env.items()),  # type: ignore[arg-type]
        command=tuple(command) if command else None,
    )  # fmt: skip
    back = parse(to_command(a)).action
    assert isinstance(back, Launch)
    assert back == Launch(**{**a.__dict__, "given": back.given})
