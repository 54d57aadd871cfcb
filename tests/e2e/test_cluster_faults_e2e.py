"""The whole bot with a faulty API server in front of the simulated cluster (issue 12, items 4-7).

Signed Slack requests to the bot; the bot reaches the cluster through ``FaultProxy``. Previews
survive 20 % 500s; a dry run answered 429 is "busy, try again", not a refusal; a stop whose DELETE
was applied and then answered 500 is read back and reported as done; a stop that races the
dispatcher's safety net (the Service delete throttled) ends ``stopped`` with the job's name.
The last test runs the real ``chatops run`` process, its kubeconfig pointing at the proxy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.adapters.redis.queue_store import QueueStore
from bot.domain import messages as msg
from bot.render import replies as rendering
from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from bot.sim.slack import requests as sr
from bot.sim.slack.web_api import FakeSlack
from tests.support.botstack import H100, POLICY_FILE, SECRET, BotStack, bot_stack, button_value, text_of
from tests.support.fault_proxy import FaultProxy
from tests.support.redis_server import free_port
from tests.support.waiting import wait
from tests.support.watching import launch, wait_card

OWNER = "URES0001"
IMAGE = "ghcr.io/acme/train:1.4"
NS = "ml-research"


@pytest.fixture
def stack(redis_url: str) -> Iterator[BotStack]:
    with bot_stack(redis_url, faults=True, seed=12) as s:
        yield s


def _proxy(stack: BotStack) -> FaultProxy:
    assert stack.proxy is not None
    return stack.proxy


def _jobs(sim: SimServer) -> list[str]:
    from kubernetes import client

    return [j.metadata.name for j in client.BatchV1Api(sim.api_client()).list_namespaced_job(NS).items]


def _record_state(redis_url: str, name: str) -> str | None:
    record = QueueStore.from_url(redis_url).get(NS, name)
    return record.state if record else None


def _running(stack: BotStack, name: str) -> None:
    wait(lambda: name in _jobs(stack.sim), what=f"the Job {name}")
    wait_card(stack, name, "Running")


def test_previews_survive_20_percent_500s(stack: BotStack) -> None:
    _proxy(stack).set_rates(error_rate=0.2)
    failed = []
    for i in range(15):
        answer = stack.ask(f"launch p{i} --image {IMAGE} --gpus 1 --gpu-type h100", OWNER)
        try:
            button_value(answer, rendering.LAUNCH_CONFIRM)
        except AssertionError:
            failed.append(text_of(answer)[:200])
    assert len(_proxy(stack).faults("500")) >= 5, "the proxy injected too few faults to prove anything"
    assert failed == []


def test_a_dry_run_answered_429_is_busy_not_a_refusal(stack: BotStack) -> None:
    _proxy(stack).add_rule("POST", r"/jobs$", "429", retry_after=1)
    answer = text_of(stack.ask(f"launch throttled --image {IMAGE} --gpus 1 --gpu-type h100", OWNER))
    assert msg.cluster_busy() in answer
    assert "rejected" not in answer and "TooManyRequests" not in answer


def test_a_stop_applied_then_answered_500_is_reported_stopped(stack: BotStack, redis_url: str) -> None:
    name = launch(stack, f"launch ambig --image {IMAGE} --gpus 1 --gpu-type h100 --env SIM_DURATION=1h")
    _running(stack, name)
    _proxy(stack).add_rule("DELETE", rf"/jobs/{name}$", "apply_then_500")  # every answer a 500
    assert stack.ask(f"stop {name}", OWNER)["text"] == msg.stopped([name])
    assert name not in _jobs(stack.sim)
    assert _record_state(redis_url, name) == "stopped"
    wait_card(stack, name, "Stopped")


def test_a_stop_the_cluster_never_took_says_so(stack: BotStack, redis_url: str) -> None:
    name = launch(stack, f"launch stays --image {IMAGE} --gpus 1 --gpu-type h100 --env SIM_DURATION=1h")
    _running(stack, name)
    _proxy(stack).add_rule("DELETE", rf"/jobs/{name}$", "500")
    assert stack.ask(f"stop {name}", OWNER)["text"] == msg.cluster_busy()  # "nothing was changed": true
    assert name in _jobs(stack.sim) and _record_state(redis_url, name) == "running"
    _proxy(stack).clear_rules()
    assert stack.ask(f"stop {name}", OWNER)["text"] == msg.stopped([name])


def test_a_stop_that_races_the_safety_net_ends_stopped_with_its_name(stack: BotStack, redis_url: str) -> None:
    name = launch(stack, f"launch multi --image {IMAGE} --gpus 16 --gpu-type h100 --nodes 2 --env SIM_DURATION=1h")
    _running(stack, name)
    # The Job goes at once; its Service is throttled twice, so the stop records its outcome ~2 s later,
    # while the dispatcher (a pass every 0.2 s) sees the Job missing.
    _proxy(stack).add_rule("DELETE", rf"/services/{name}$", "429", times=2, retry_after=1)
    text = stack.ask(f"stop {name}", OWNER)["text"]
    assert text == msg.stopped([name]), text
    assert _proxy(stack).faults("429"), "the Service delete was not throttled"
    assert _record_state(redis_url, name) == "stopped"
    wait_card(stack, name, "Stopped")


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def test_chatops_run_through_the_proxy_reads_back_an_ambiguous_stop(redis_url: str, tmp_path: Path) -> None:
    cluster = SimCluster([NodeSpec("h100-0", 8, H100)], speed=60, namespaces=[NS])
    with FakeSlack() as slack, SimServer(cluster) as sim, FaultProxy(sim.url, seed=4) as proxy:
        env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack.url, "REDIS_URL": redis_url, "CHATOPS_CONFIG": str(POLICY_FILE),
               "KUBECONFIG": str(proxy.write_kubeconfig(tmp_path / "kubeconfig"))}
        env.pop("SLACK_APP_TOKEN", None)
        port = free_port()
        url = f"http://127.0.0.1:{port}/slack/events"
        log = tmp_path / "bot.log"
        proc = subprocess.Popen([str(Path(sys.executable).parent / "chatops"), "run", "--http", "--port", str(port)],
                                env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        try:
            wait(lambda: _healthy(port), 30, "the bot to serve /healthz")

            def ask(body: dict[str, str], rid: str) -> dict[str, object]:
                assert sr.send(url, body, SECRET)[0] == 200
                return slack.wait_for(lambda c: c.args.get("_id") == rid, timeout=15).args

            proxy.set_rates(error_rate=0.2)  # the preview's reads retry through these
            preview = ask(sr.slash_command_body(f"launch viaproxy --image {IMAGE} --gpus 1 --gpu-type h100 "
                                                "--env SIM_DURATION=1h", OWNER,
                                                response_url=slack.response_url("preview")), "preview")
            proxy.set_rates()
            token = button_value(preview, rendering.LAUNCH_CONFIRM)
            ask(sr.block_actions_body(rendering.LAUNCH_CONFIRM, token, OWNER, response_url=slack.response_url("ok")),
                "ok")
            wait(lambda: "viaproxy" in _jobs(sim), 30, "the Job")
            proxy.add_rule("DELETE", r"/jobs/viaproxy$", "apply_then_500")
            told = ask(sr.slash_command_body("stop viaproxy", OWNER, response_url=slack.response_url("stop")), "stop")
            assert told["text"] == msg.stopped(["viaproxy"]), json.dumps(told)[:500]
            assert "viaproxy" not in _jobs(sim) and _record_state(redis_url, "viaproxy") == "stopped"
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise AssertionError("no exit after SIGTERM:\n" + log.read_text()[-4000:]) from None
