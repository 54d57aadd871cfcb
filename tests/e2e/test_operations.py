"""Operating the bot: /metrics that parse and move, JSON logs with a request id, and a SIGTERM in the
middle of a launch that loses nothing (the real `chatops run` process, against the real parts)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bot import logs
from bot.adapters.redis.queue_store import QueueStore
from bot.domain.policy.config import load_policy
from bot.render import replies as rendering
from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from bot.sim.slack import requests as sr
from bot.sim.slack.web_api import FakeSlack
from tests.support.botstack import H100, POLICY_FILE, SECRET, BotStack, bot_stack, button_value, team_namespaces
from tests.support.redis_server import free_port
from tests.support.waiting import wait as _wait

IMAGE = "ghcr.io/acme/train:1.4"
FAMILIES: set[str] = set()


def _metrics(stack: BotStack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.bot.http.port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        FAMILIES.add(family.name)
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_parse_and_move(redis_url: str) -> None:
    with bot_stack(redis_url) as stack:
        before = _metrics(stack)
        stack.ask("list", "URES0001")
        stack.ask(f"launch x --image {IMAGE} --gpus 1 --gpu-type k80", "URES0001")  # refused
        depth = ("chatops_queue_depth", (("gpu_type", "h100"),))
        # the dispatcher's first pass (which sets the queue depth) runs on its own thread: wait for it
        after = _wait(lambda: m if depth in (m := _metrics(stack)) else None, 10, "a dispatcher pass")

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("chatops_actions_total", action="list", outcome="ok") == 1
    assert delta("chatops_actions_total", action="launch", outcome="refused") == 1
    assert delta("chatops_commands_total", kind="command", outcome="ok") == 1
    assert delta("chatops_commands_total", kind="command", outcome="refused") == 1
    assert delta("chatops_requests_total", kind="slack", outcome="200") >= 2
    assert delta("chatops_http_request_seconds_count", route="/slack/events") >= 2
    assert delta("chatops_slack_api_calls_total", method="chat_postMessage", result="ok") >= 0
    for family in ("chatops_admissions", "chatops_slack_api_calls", "chatops_slack_rate_limited",
                   "chatops_kubernetes_api_errors", "chatops_alerts_received", "chatops_command_seconds"):
        assert family in FAMILIES, family


def test_json_logs_carry_the_request_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with logs.request_context("trig-42"):
            logger.info("launch %s", "llama-ft", extra={"job": "llama-ft"})
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["request_id"] == "trig-42" and first["message"] == "launch llama-ft" and first["job"] == "llama-ft"
    assert "request_id" not in second and second["level"] == "info"


def _start_bot(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    chatops = Path(sys.executable).parent / "chatops"
    proc = subprocess.Popen([str(chatops), "run", "--http", "--port", str(port)], env=env,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    _wait(healthy, 30, "the bot to serve /healthz")
    return proc


def _stopped(proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> int:
    """The exit code after SIGTERM; on a hang, the threads' stacks (SIGUSR1) are in the failure."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGUSR1)
        with contextlib.suppress(AssertionError):  # faulthandler writes the stacks to the log, briefly
            _wait(lambda: "most recent call first" in log.read_text(), 5, "the thread dump")
        proc.kill()
        raise AssertionError("no exit after SIGTERM:\n" + log.read_text()[-6000:]) from None


def test_sigterm_during_a_launch_loses_nothing(redis_url: str, tmp_path: Path) -> None:
    cluster = SimCluster([NodeSpec("h100-0", 8, H100)], speed=60,
                         namespaces=team_namespaces(load_policy(POLICY_FILE)))
    with FakeSlack() as slack, SimServer(cluster) as sim:
        kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")
        env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack.url, "REDIS_URL": redis_url, "KUBECONFIG": str(kubeconfig),
               "CHATOPS_CONFIG": str(POLICY_FILE)}
        env.pop("SLACK_APP_TOKEN", None)
        port = free_port()
        url = f"http://127.0.0.1:{port}/slack/events"
        log = tmp_path / "bot.log"
        proc = _start_bot(env, port, log)
        try:
            body = sr.slash_command_body(f"launch keep --image {IMAGE} --gpus 8 --gpu-type h100",
                                         "URES0001", response_url=slack.response_url("preview"))
            assert sr.send(url, body, SECRET)[0] == 200
            preview = slack.wait_for(lambda c: c.args.get("_id") == "preview", timeout=10).args
            token = button_value(preview, rendering.LAUNCH_CONFIRM)
            click = sr.block_actions_body(rendering.LAUNCH_CONFIRM, token, "URES0001",
                                          response_url=slack.response_url("click"))
            assert sr.send(url, click, SECRET)[0] == 200  # acked; the submit runs after the ack
            assert _stopped(proc, log) == 0, log.read_text()[-3000:]  # right away: the submit is in flight
        finally:
            if proc.poll() is None:
                proc.kill()
        # the click that was acknowledged was carried out: the person was told, and the job is in Redis
        told = slack.wait_for(lambda c: c.args.get("_id") == "click", timeout=5).args
        assert "Submitted `keep`" in told["text"]
        store = QueueStore.from_url(redis_url)
        assert store.get("ml-research", "keep") is not None
        lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        assert any("stopping" in line["message"] for line in lines) and lines[-1]["message"] == "stopped"
        # a new process (a restart, or the other replica) takes it from there: the Job is created once
        proc = _start_bot(env, port, log)
        try:
            from kubernetes import client

            api = client.BatchV1Api(sim.api_client())
            _wait(lambda: [j.metadata.name for j in api.list_namespaced_job("ml-research").items] == ["keep"],
                  30, "the Job created after the restart")
        finally:
            assert _stopped(proc, log) == 0


def test_sigterm_right_after_start_is_graceful(redis_url: str, tmp_path: Path) -> None:
    """The handler is in place before /healthz answers: a stop during start-up is a clean stop."""
    with FakeSlack() as slack, SimServer(
            SimCluster([NodeSpec("h100-0", 8, H100)], namespaces=team_namespaces(load_policy(POLICY_FILE)))) as sim:
        env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack.url, "REDIS_URL": redis_url,
               "KUBECONFIG": str(sim.write_kubeconfig(tmp_path / "kubeconfig")), "CHATOPS_CONFIG": str(POLICY_FILE)}
        env.pop("SLACK_APP_TOKEN", None)
        log = tmp_path / "bot.log"
        proc = _start_bot(env, free_port(), log)
        assert _stopped(proc, log) == 0, log.read_text()[-3000:]
