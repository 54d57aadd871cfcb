"""``chatops run`` as a platform engineer first starts it: every missing or invalid setting in one
message (exit 2, no traceback), REDIS_URL or ``--embedded-store``, the bot token checked with auth.test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.domain.messages.setup import ENVIRONMENT
from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from bot.sim.slack.web_api import FakeSlack
from tests.support.botstack import H100, POLICY_FILE
from tests.support.redis_server import free_port
from tests.support.waiting import wait

CHATOPS = str(Path(sys.executable).with_name("chatops"))


def clean_env(**more: str) -> dict[str, str]:
    names = {name for name, _, _ in ENVIRONMENT} | {"KUBERNETES_SERVICE_HOST"}
    env = {k: v for k, v in os.environ.items() if k not in names}
    return {**env, **more}


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHATOPS, "run", *args], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[FakeSlack, dict[str, str]]]:
    """The fake Slack Web API and a simulated cluster; the settings of a good HTTP-mode start."""
    with FakeSlack() as slack, SimServer(SimCluster([NodeSpec("h100-0", 8, H100)])) as sim:
        kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")
        yield slack, clean_env(SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET="s3cret", SLACK_API_URL=slack.url,
                               KUBECONFIG=str(kubeconfig), CHATOPS_CONFIG=str(POLICY_FILE))


def test_nothing_set_names_every_missing_setting_once() -> None:
    out = run(clean_env())
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and out.stderr.count("cannot start") == 1
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "REDIS_URL", "--embedded-store",
                 "KUBECONFIG", "CHATOPS_CONFIG"):
        assert name in out.stderr, name
    assert "5 setting(s) to fix" in out.stderr
    assert "Bot User OAuth Token" in out.stderr  # what the token is for, and where to find it


def test_invalid_settings_are_named_with_what_they_are_for(tmp_path: Path) -> None:
    policy = tmp_path / "chatops.yaml"
    policy.write_text(POLICY_FILE.read_text().replace("gpu_quota: 16", "gpu_quota: sixteen"))
    out = run(clean_env(SLACK_BOT_TOKEN="not-a-token", SLACK_APP_TOKEN="xoxb-wrong-kind",
                        REDIS_URL="localhost:6379", PROMETHEUS_URL="prometheus:9090",
                        KUBECONFIG=str(tmp_path / "missing"), CHATOPS_CONFIG=str(policy)))
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    for line in ("SLACK_BOT_TOKEN does not start with xoxb-", "SLACK_APP_TOKEN does not start with xapp-",
                 "REDIS_URL is not a URL starting with redis://", "PROMETHEUS_URL is not a URL",
                 f"KUBECONFIG={tmp_path / 'missing'}: no such file",
                 "teams.research.gpu_quota: 'sixteen' must be a whole number of GPUs"):
        assert line in out.stderr, line
    assert "SLACK_SIGNING_SECRET" not in out.stderr  # Socket Mode needs none


def test_without_redis_url_it_refuses_unless_embedded_store(parts: tuple[FakeSlack, dict[str, str]]) -> None:
    slack, env = parts
    out = run(env, "--http", "--port", str(free_port()))
    assert out.returncode == 2 and "REDIS_URL is not set" in out.stderr and "--embedded-store" in out.stderr
    assert "1 setting(s) to fix" in out.stderr
    assert slack.calls("auth.test") == []  # nothing is called before the settings are right


def test_a_refused_bot_token_is_a_clear_error(parts: tuple[FakeSlack, dict[str, str]]) -> None:
    slack, env = parts
    slack.revoked.add("xoxb-revoked")
    out = run({**env, "SLACK_BOT_TOKEN": "xoxb-revoked"}, "--embedded-store")
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    assert "SLACK_BOT_TOKEN was refused by Slack (token_revoked)" in out.stderr
    assert "reinstall the app" in out.stderr
    assert [c.method for c in slack.calls()] == ["auth.test"]


def test_slack_unreachable_is_said_plainly(parts: tuple[FakeSlack, dict[str, str]]) -> None:
    _, env = parts
    url = f"http://127.0.0.1:{free_port()}/api/"
    out = run({**env, "SLACK_API_URL": url}, "--embedded-store")
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert f"the Slack Web API at {url} did not answer" in out.stderr


def test_embedded_store_starts_checks_the_token_and_warns_once(parts: tuple[FakeSlack, dict[str, str]],
                                                               tmp_path: Path) -> None:
    slack, env = parts
    port = free_port()
    log = tmp_path / "bot.log"
    proc = subprocess.Popen([CHATOPS, "run", "--http", "--port", str(port), "--embedded-store"], env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
                    return bool(resp.status == 200)
            except OSError:
                return False

        wait(healthy, 30, "the bot to serve /healthz")
        assert slack.calls("auth.test"), "the token is checked at start"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    text = log.read_text()
    assert "signed in to Slack as @chatops" in text and "embedded store" in text
    assert "will be unused" not in text  # bolt's warning on every start
    warnings = [line for line in text.splitlines() if '"level": "warning"' in line]
    assert len(warnings) == 1 and "embedded store" in warnings[0], warnings


def test_run_help_lists_the_environment_and_defaults() -> None:
    out = subprocess.run([CHATOPS, "run", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for name, _, default in ENVIRONMENT:
        assert name in out.stdout and f"[default: {default}]" in out.stdout, name
    assert "--embedded-store" in out.stdout
