"""Two clusters through the real ``chatops run``: two ``chatops sim`` processes, one kubeconfig with two
contexts, the policy's ``clusters:``. Jobs go where their GPU type has the most free GPUs; then one
sim is killed mid-run: ``/gpu gpus`` shows it unreachable, its running job's card says so (the job is
not failed), a new job goes to the other cluster, and a job asked for the dead one waits with why."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from bot.adapters.redis.queue_store import QueueStore
from bot.domain import messages as msg
from bot.render import replies as rendering
from bot.sim.slack import requests as sr
from bot.sim.slack.web_api import FakeSlack
from tests.e2e.test_operations import _start_bot, _stopped
from tests.support.botstack import POLICY_FILE, SECRET, button_value
from tests.support.redis_server import free_port
from tests.support.waiting import wait

CHATOPS = Path(sys.executable).parent / "chatops"
OWNER, NS, IMAGE = "URES0001", "ml-research", "ghcr.io/acme/train:1.4"
LONG = "--env SIM_DURATION=10h"  # runs for the whole test (10 real minutes at 60x)


def _sim(tmp: Path, name: str, gpu_types: str) -> tuple[subprocess.Popen[bytes], Path]:
    out, log = tmp / f"{name}.kubeconfig", tmp / f"{name}.log"
    proc = subprocess.Popen([str(CHATOPS), "sim", "--port", str(free_port()), "--gpu-type", gpu_types,
                             "--speed", "60", "--namespace", NS, "--namespace", "ml-vision",
                             "--kubeconfig-out", str(out)], stdout=log.open("ab"), stderr=subprocess.STDOUT)
    wait(lambda: out.exists() and "listening on" in log.read_text(), 30, f"the {name} sim")
    return proc, out


def _merged(files: dict[str, Path], into: Path) -> Path:
    """One kubeconfig with a context per cluster, named after it (each sim writes one named "sim")."""
    merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [], "contexts": []}
    for name, path in files.items():
        one = yaml.safe_load(path.read_text())
        merged["clusters"].append({"name": name, "cluster": one["clusters"][0]["cluster"]})
        merged["users"].append({"name": f"{name}-user", "user": {}})
        merged["contexts"].append({"name": name, "context": {"cluster": name, "user": f"{name}-user"}})
    merged["current-context"] = next(iter(files))
    into.write_text(yaml.safe_dump(merged))
    return into


def _jobs_in(kubeconfig: Path, context: str) -> set[str]:
    api = k8s.BatchV1Api(k8s_config.new_client_from_config(str(kubeconfig), context=context))  # type: ignore[no-untyped-call]
    return {str(j.metadata.name) for j in api.list_namespaced_job(NS).items if j.metadata}


class Bot:
    def __init__(self, slack: FakeSlack, port: int) -> None:
        self.slack, self.url, self.n = slack, f"http://127.0.0.1:{port}/slack/events", 0

    def ask(self, text: str) -> dict[str, Any]:
        self.n += 1
        rid = f"r{self.n}"
        assert sr.send(self.url, sr.slash_command_body(text, OWNER, response_url=self.slack.response_url(rid)),
                       SECRET)[0] == 200
        answer: dict[str, Any] = self.slack.wait_for(lambda c: c.args.get("_id") == rid, timeout=30).args
        return answer

    def launch(self, text: str) -> str:
        token = button_value(self.ask(f"launch {text}"), rendering.LAUNCH_CONFIRM)
        self.n += 1
        rid = f"r{self.n}"
        body = sr.block_actions_body(rendering.LAUNCH_CONFIRM, token, OWNER, response_url=self.slack.response_url(rid))
        assert sr.send(self.url, body, SECRET)[0] == 200
        done = self.slack.wait_for(lambda c: c.args.get("_id") == rid, timeout=30).args
        assert "Submitted" in json.dumps(done), done
        return text.split()[0]

    def card(self, name: str) -> str:
        for m in list(self.slack.messages.values()):
            blocks = m.get("blocks") or []
            if not m.get("thread_ts") and blocks and blocks[0].get("type") == "header" \
                    and blocks[0]["text"]["text"] == name:
                return json.dumps(blocks, ensure_ascii=False)
        return ""

    def wait_card(self, name: str, *needles: str, timeout: float = 40) -> str:
        try:
            found: str = wait(lambda: (t := self.card(name)) and all(n in t for n in needles) and t, timeout,
                              f"card of {name} with {needles}")
        except AssertionError:
            raise AssertionError(f"card of {name} never showed {needles}: {self.card(name)[:1500]}") from None
        return found


@pytest.fixture
def sims(tmp_path: Path) -> Iterator[dict[str, tuple[subprocess.Popen[bytes], Path]]]:
    started = {"onprem": _sim(tmp_path, "onprem", "1x8:h100"), "cloud": _sim(tmp_path, "cloud", "2x8:h100")}
    try:
        yield started
    finally:
        for proc, _ in started.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=15)


def test_two_clusters_placement_then_one_unreachable(
        redis_url: str, tmp_path: Path, sims: dict[str, tuple[subprocess.Popen[bytes], Path]]) -> None:
    kubeconfig = _merged({name: path for name, (_, path) in sims.items()}, tmp_path / "kubeconfig")
    policy = tmp_path / "chatops.yaml"
    policy.write_text(POLICY_FILE.read_text() + "\nclusters:\n  onprem: {context: onprem}\n  cloud: {context: cloud}\n")
    env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
           "REDIS_URL": redis_url, "KUBECONFIG": str(kubeconfig), "CHATOPS_CONFIG": str(policy)}
    env.pop("SLACK_APP_TOKEN", None)
    checked = subprocess.run([str(CHATOPS), "check-config", str(policy)], env=env, capture_output=True, text=True,
                             timeout=60)
    assert checked.returncode == 0 and "clusters: onprem, cloud" in checked.stdout, checked.stderr
    store = QueueStore.from_url(redis_url)
    with FakeSlack() as slack:
        env["SLACK_API_URL"] = slack.url
        port, log = free_port(), tmp_path / "bot.log"
        proc = _start_bot(env, port, log)
        bot = Bot(slack, port)
        try:
            # placement by free GPUs: cloud has 16 free, onprem 8 → cloud; then 8 and 8 → the policy's
            # first (onprem); then cloud's 8 beat onprem's 0
            for name in ("a", "b", "c"):
                bot.launch(f"{name} --image {IMAGE} --gpus 8 --gpu-type h100 {LONG}")
                bot.wait_card(name, "Running")
            assert _jobs_in(kubeconfig, "cloud") == {"a", "c"} and _jobs_in(kubeconfig, "onprem") == {"b"}
            assert "cluster onprem" in bot.card("b") and "cluster cloud" in bot.card("a")
            gpus = json.dumps(bot.ask("gpus"))
            assert "onprem h100" in gpus and "cloud h100" in gpus and "unreachable" not in gpus

            sims["onprem"][0].kill()  # mid-run: b runs there
            sims["onprem"][0].wait(timeout=10)
            card = bot.wait_card("b", "cluster onprem unreachable since", "Running")
            assert "Failed" not in card
            assert "onprem*: unreachable since" in json.dumps(bot.ask("gpus"))
            r = store.get(NS, "b")
            assert r is not None and r.state == "running" and r.cluster == "onprem"

            assert bot.ask("stop c")["text"] == msg.stopped(["c"])  # a job on the cluster that answers
            bot.wait_card("c", "Stopped")
            bot.launch(f"d --image {IMAGE} --gpus 8 --gpu-type h100 {LONG}")  # onprem is down: cloud
            bot.wait_card("d", "Running", "cluster cloud")
            assert "d" in _jobs_in(kubeconfig, "cloud")
            bot.launch(f"e --image {IMAGE} --gpus 8 --gpu-type h100 --cluster onprem {LONG}")
            bot.wait_card("e", "Queued", "waiting: cluster onprem unreachable since")
            queued = store.get(NS, "e")
            assert queued is not None and queued.state == "queued"
            assert store.get(NS, "b").state == "running"  # type: ignore[union-attr]  # still not failed
        finally:
            assert _stopped(proc, log) == 0, log.read_text()[-4000:]
