"""The real ``chatops run`` process: SIGHUP reloads the policy file, validated first (a bad file keeps
the old policy and the log says why); then ``chatops audit export`` prints the trail as JSON lines;
``chatops check-config`` accepts the org example and warns that groups resolve at run time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.domain.policy.config import load_policy
from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from bot.sim.slack import requests as sr
from bot.sim.slack.web_api import FakeSlack
from tests.e2e.test_operations import _start_bot, _stopped
from tests.support.botstack import H100, POLICY_FILE, SECRET, team_namespaces
from tests.support.redis_server import free_port
from tests.support.waiting import wait

CHATOPS = Path(sys.executable).parent / "chatops"


def _ask(slack: FakeSlack, url: str, text: str, user: str, rid: str) -> str:
    body = sr.slash_command_body(text, user, response_url=slack.response_url(rid))
    assert sr.send(url, body, SECRET)[0] == 200
    return json.dumps(slack.wait_for(lambda c: c.args.get("_id") == rid, timeout=10).args)


def _log_lines(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


@dataclass
class Running:
    slack: FakeSlack
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]


@contextmanager
def _running_bot(redis_url: str, tmp_path: Path, policy_file: Path) -> Iterator[Running]:
    """``chatops run --http`` on ``policy_file`` against a one-node sim and the fake Slack; stopped with SIGTERM."""
    cluster = SimCluster([NodeSpec("h100-0", 8, H100)], namespaces=team_namespaces(load_policy(POLICY_FILE)))
    with FakeSlack() as slack, SimServer(cluster) as sim:
        env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack.url, "REDIS_URL": redis_url,
               "KUBECONFIG": str(sim.write_kubeconfig(tmp_path / "kubeconfig")), "CHATOPS_CONFIG": str(policy_file)}
        env.pop("SLACK_APP_TOKEN", None)
        port, log = free_port(), tmp_path / "bot.log"
        proc = _start_bot(env, port, log)
        try:
            yield Running(slack, f"http://127.0.0.1:{port}/slack/events", proc, log, env)
        finally:
            assert _stopped(proc, log) == 0, log.read_text()[-3000:]


def test_sighup_reloads_a_good_policy_and_keeps_the_old_one_for_a_bad_one(redis_url: str, tmp_path: Path) -> None:
    policy_file = tmp_path / "chatops.yaml"
    written = POLICY_FILE.read_text()
    policy_file.write_text(written)
    with _running_bot(redis_url, tmp_path, policy_file) as bot:
        slack, url, proc, log, env = bot.slack, bot.url, bot.proc, bot.log, bot.env
        assert "not a member of any team" in _ask(slack, url, "list", "UNEW0009", "before")
        policy_file.write_text(written.replace("gpu_quota: 16", "gpu_quota: lots"))
        proc.send_signal(signal.SIGHUP)
        wait(lambda: any("rejected" in str(line["message"]) for line in _log_lines(log)), 10, "the rejection")
        rejected = next(str(line["message"]) for line in _log_lines(log) if "rejected" in str(line["message"]))
        assert "teams.research.gpu_quota" in rejected and "old policy stays" in rejected
        assert "not a member of any team" in _ask(slack, url, "list", "UNEW0009", "bad")
        assert proc.poll() is None, "a bad reload does not stop the bot"
        told = slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args.get("channel") == "UADMIN01"
                              and "was not reloaded" in json.dumps(c.args), timeout=10)
        assert "teams.research.gpu_quota" in json.dumps(told.args)  # the admins are told why too
        policy_file.write_text(written.replace("[URES0001, URES0002, URES0003]",
                                               "[URES0001, URES0002, URES0003, UNEW0009]"))
        proc.send_signal(signal.SIGHUP)
        wait(lambda: any("policy reloaded" in str(line["message"]) for line in _log_lines(log)), 10, "reload")
        assert "not a member" not in _ask(slack, url, "list", "UNEW0009", "after")
    out = subprocess.run([str(CHATOPS), "audit", "export", "--since", "30d"], env=env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    entries = [json.loads(line) for line in out.stdout.splitlines()]
    assert [e["action"] for e in entries] == ["config.rejected", "config.reloaded"]
    assert set(entries[0]) >= {"time", "user", "team", "action", "target", "result", "request_id"}
    assert entries[0]["target"] == str(policy_file) and "gpu_quota" in entries[0]["result"]
    assert entries[1]["result"] == "ok"
    assert "xoxb-test" not in out.stdout and SECRET not in out.stdout and redis_url not in out.stdout
    bad = subprocess.run([str(CHATOPS), "audit", "export", "--since", "soon"], env=env, capture_output=True,
                         text=True, timeout=30)
    assert bad.returncode == 2 and "--since 30d" in bad.stderr
    unset = subprocess.run([str(CHATOPS), "audit", "export"], env={**env, "REDIS_URL": ""}, capture_output=True,
                           text=True, timeout=30)
    assert unset.returncode == 2 and "REDIS_URL" in unset.stderr


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "org-policy.yaml"


def test_check_config_accepts_the_example_and_warns_about_groups() -> None:
    out = subprocess.run([str(CHATOPS), "check-config", str(EXAMPLE)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "ok (2 teams" in out.stdout
    assert "@ml-research" in out.stderr and "resolved at run time" in out.stderr
    plain = subprocess.run([str(CHATOPS), "check-config", str(EXAMPLE.parent / "chatops.yaml")],
                           capture_output=True, text=True, timeout=60)
    assert plain.returncode == 0 and "resolved at run time" not in plain.stderr


def test_an_edited_policy_file_is_reloaded_without_a_signal(redis_url: str, tmp_path: Path) -> None:
    """The file watch: the same path as SIGHUP (validated first; a bad file keeps the old policy, the log
    and the admins say why), taken when the file's content changes."""
    policy_file = tmp_path / "chatops.yaml"
    written = POLICY_FILE.read_text()
    policy_file.write_text(written)
    with _running_bot(redis_url, tmp_path, policy_file) as bot:
        slack, url, log = bot.slack, bot.url, bot.log
        assert "not a member of any team" in _ask(slack, url, "list", "UNEW0009", "before")
        policy_file.write_text(written.replace("gpu_quota: 16", "gpu_quota: lots"))  # no signal
        wait(lambda: any("rejected" in str(line["message"]) for line in _log_lines(log)), 20, "the rejection")
        told = slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args.get("channel") == "UADMIN01"
                              and "was not reloaded" in json.dumps(c.args), timeout=10)
        assert "teams.research.gpu_quota" in json.dumps(told.args)
        assert "not a member of any team" in _ask(slack, url, "list", "UNEW0009", "bad")  # the old one stays
        policy_file.write_text(written.replace("[URES0001, URES0002, URES0003]",
                                               "[URES0001, URES0002, URES0003, UNEW0009]"))
        n = 0

        def member_now() -> bool:
            nonlocal n
            n += 1
            return "not a member" not in _ask(slack, url, "list", "UNEW0009", f"after-{n}")

        wait(member_now, 20, "the edited policy in force")
        reloads = [line for line in _log_lines(log) if "policy reloaded" in str(line["message"])]
        assert len(reloads) == 1, reloads  # the good file once; the bad one was tried once
        assert sum("rejected" in str(line["message"]) for line in _log_lines(log)) == 1
