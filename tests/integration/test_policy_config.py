"""``chatops check-config``: every problem names its key and the fix; the example policy loads as it is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.domain.errors import ConfigError
from bot.domain.policy.config import load_policy, parse_policy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "chatops.yaml"


def problems(**changes: object) -> list[str]:
    data = yaml.safe_load(EXAMPLE.read_text())
    for path, value in changes.items():
        *parents, key = path.split("__")
        node = data
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        if value is None:
            del node[key]
        else:
            node[key] = value
    with pytest.raises(ConfigError) as err:
        parse_policy(data)
    return err.value.problems


def test_the_example_policy_and_the_demo_copy_are_one_file() -> None:
    bundled = ROOT / "bot" / "console" / "demo_policy.yaml"
    assert EXAMPLE.read_bytes() == bundled.read_bytes()
    assert load_policy(EXAMPLE).teams["research"].gpu_quota == 16


def test_check_config_of_the_example_from_the_repository_root() -> None:
    chatops = Path(sys.executable).with_name("chatops")
    out = subprocess.run([str(chatops), "check-config", "examples/chatops.yaml"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "ok (2 teams" in out.stdout


def test_a_misspelt_nested_key_gets_a_did_you_mean_and_is_not_also_missing() -> None:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["teams"]["research"]["gpu_qouta"] = data["teams"]["research"].pop("gpu_quota")
    data["templates"]["smoke"]["gpuz"] = 1
    data["alerts"]["routes"][0]["chanel"] = "CONCALL01"
    with pytest.raises(ConfigError) as err:
        parse_policy(data)
    assert err.value.problems == [
        "teams.research.gpu_qouta: unknown key; did you mean 'gpu_quota'?",
        "templates.smoke.gpuz: unknown key; did you mean 'gpus'?",
        "alerts.routes.0.chanel: unknown key; did you mean 'channel'?",
    ]


def test_an_unknown_key_with_no_near_name_lists_the_keys_there() -> None:
    (line,) = problems(limits__colour="blue")
    assert line.startswith("limits.colour: unknown key; remove it (keys here: default_time_limit,")


def test_a_gpu_count_in_words_must_be_a_whole_number_of_gpus() -> None:
    assert problems(teams__vision__gpu_quota="sixteen") == [
        "teams.vision.gpu_quota: 'sixteen' must be a whole number of GPUs"]
    assert problems(limits__max_nodes_per_job="four") == [
        "limits.max_nodes_per_job: 'four' must be a whole number of nodes"]


@pytest.mark.parametrize("where", ["teams__vision__channel", "alerts__default_channel", "alerts__routes__0__channel"])
def test_a_channel_name_is_refused_with_how_to_find_the_id(where: str) -> None:
    (line,) = problems(**{where: "#vision"})
    assert line.startswith(where.replace("__", ".") + ": '#vision' is not a Slack channel ID")
    assert "About tab" in line
