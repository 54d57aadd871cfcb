"""The README stands alone: the environment, the policy keys and the Secret a platform engineer needs are
in it (not in a design note users do not have), and what it says matches the code and deploy/."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.domain.messages.setup import ENVIRONMENT
from bot.domain.policy.config import Alerts, Limits, Policy, Team, Template

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_it_points_at_nothing_outside_the_repository() -> None:
    assert "../shared" not in README and "DESIGN.md" not in README
    for path in re.findall(r"`((?:deploy|examples|tests|bot)/[\w./-]+)`", README):
        assert (ROOT / path.split()[0]).exists(), path


def test_every_environment_variable_is_documented() -> None:
    for name, _, default in ENVIRONMENT:
        assert re.search(rf"\| `{name}` \|.*\| {re.escape(default)} \|", README), name


def test_every_policy_key_is_documented() -> None:
    for key in Policy.model_fields:  # `gpu_types`, or the nested keys: `limits.max_gpus_per_job`
        assert f"`{key}`" in README or f"`{key}." in README, key
    keys = [*(f"teams.<name>.{k}" for k in Team.model_fields),
            *(f"limits.{k}" for k in Limits.model_fields), *(f"alerts.{k}" for k in Alerts.model_fields)]
    for key in keys:
        assert f"`{key}`" in README, key
    for key in Template.model_fields:
        assert f"`{key}`" in README, key


def test_the_secret_command_has_every_key_the_deployment_reads() -> None:
    used: set[str] = set()
    for path in (ROOT / "deploy").rglob("*.yaml"):
        used |= set(re.findall(r"secretKeyRef: \{name: gpu-chatops, key: ([\w-]+)", path.read_text()))
    command = README[README.index("create secret generic gpu-chatops"):]
    command = command[:command.index("```")]
    given = set(re.findall(r"--from-literal=([\w-]+)=", command))
    assert used - {"slack-signing-secret"} <= given  # the signing secret is the HTTP-mode alternative
    assert "slack-signing-secret" in README


def test_the_deployed_policy_is_the_example() -> None:
    assert (ROOT / "deploy/base/chatops.yaml").read_bytes() == (ROOT / "examples/chatops.yaml").read_bytes()
    for doc in yaml.safe_load_all((ROOT / "deploy/base/kustomization.yaml").read_text()):
        assert doc["configMapGenerator"][0]["files"] == ["chatops.yaml"]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_installs_the_runtime_only(tmp_path: Path) -> None:
    out = subprocess.run(["make", "-n", "-C", str(ROOT), "demo", f"VENV={tmp_path / 'venv'}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    installs = [line for line in out.stdout.splitlines() if "pip install" in line and "--upgrade pip" not in line]
    assert installs and all("[dev]" not in line and "-e ." in line for line in installs), installs
    assert "chatops demo" in out.stdout
