"""``chatops run`` as its own process, with ``job_kind: jobset`` in its policy file, against
``chatops sim --trainer`` (the in-process server): a 2×8 launch becomes one JobSet whose two pods get the
rendezvous env, and the card goes running → succeeded."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from bot.render import replies as rendering
from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from bot.sim.slack import requests as sr
from bot.sim.slack.web_api import FakeSlack
from tests.e2e.test_operations import _start_bot, _stopped
from tests.support.botstack import H100, POLICY_FILE, SECRET, button_value
from tests.support.redis_server import free_port
from tests.support.waiting import wait

IMAGE = "ghcr.io/acme/train:1.4"


def test_chatops_run_launches_a_2x8_jobset(redis_url: str, tmp_path: Path) -> None:
    data = yaml.safe_load(POLICY_FILE.read_text())
    data["job_kind"] = "jobset"
    policy_file = tmp_path / "chatops.yaml"
    policy_file.write_text(yaml.safe_dump(data))
    cluster = SimCluster([NodeSpec(f"h100-{i}", 8, H100) for i in range(2)], speed=60,
                         namespaces=[t["namespace"] for t in data["teams"].values()], extensions=["trainer"])
    with FakeSlack() as slack, SimServer(cluster) as sim:
        kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")
        env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack.url, "REDIS_URL": redis_url, "KUBECONFIG": str(kubeconfig),
               "CHATOPS_CONFIG": str(policy_file)}
        env.pop("SLACK_APP_TOKEN", None)
        port = free_port()
        url = f"http://127.0.0.1:{port}/slack/events"
        log = tmp_path / "bot.log"
        proc = _start_bot(env, port, log)
        try:
            text = (f"launch llama --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 --time 2h "
                    "--env SIM_DURATION=5m")
            body = sr.slash_command_body(text, "URES0001", response_url=slack.response_url("preview"))
            assert sr.send(url, body, SECRET)[0] == 200
            preview = slack.wait_for(lambda c: c.args.get("_id") == "preview", timeout=15).args
            assert "JobSet" in json.dumps(preview)
            token = button_value(preview, rendering.LAUNCH_CONFIRM)
            click = sr.block_actions_body(rendering.LAUNCH_CONFIRM, token, "URES0001",
                                          response_url=slack.response_url("click"))
            assert sr.send(url, click, SECRET)[0] == 200
            core = client.CoreV1Api(sim.api_client())

            def pods() -> list[dict[str, Any]]:
                resp = core.list_namespaced_pod("ml-research", label_selector="jobset.sigs.k8s.io/jobset-name=llama",
                                                _preload_content=False)
                items: list[dict[str, Any]] = json.loads(resp.data)["items"]
                return items

            running = wait(lambda: (p := pods()) and len(p) == 2
                           and all(x["status"]["phase"] == "Running" for x in p) and p,
                           timeout=30, what="the JobSet's two pods running")
            for pod in running:
                env_of = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
                assert env_of["MASTER_ADDR"] == "llama-node-0-0.llama" and env_of["NNODES"] == "2"
            slack.wait_for(lambda c: c.method == "chat.update" and "Running" in json.dumps(c.args), timeout=30)
            slack.wait_for(lambda c: c.method == "chat.update" and "Succeeded" in json.dumps(c.args), timeout=90)
            creates = [r for r in sim.request_log if r.verb == "create" and r.resource != "events"]
            assert sorted({r.resource for r in creates}) == ["jobsets"], creates
        finally:
            if proc.poll() is None:
                assert _stopped(proc, log) == 0, log.read_text()[-3000:]
