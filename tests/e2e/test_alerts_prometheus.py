"""Real Prometheus and Alertmanager (Debian packages) against the whole bot.

* the rule file: ``promtool check rules`` and ``promtool test rules`` (gpu-rules.test.yaml);
* a rule that fires in Prometheus (the project's rules, made fast) → Alertmanager → the bot's receiver
  → a Slack message on the fake Web API; [Silence 1h] creates a silence visible in Alertmanager,
  [Expire silence] expires it; the alert resolves → the same message is updated to RESOLVED;
* a TSDB backfilled with DCGM series → `/gpu gpus` utilization, `/gpu usage 6h` chart upload, and the
  idle-GPU nudge (once per job).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.prometheus import PrometheusGpu
from bot.adapters.redis.alert_store import AlertStore
from bot.adapters.redis.queue_store import QueueStore
from bot.domain.jobs import JobRecord
from bot.render.alerts import ALERT_EXPIRE, ALERT_SILENCE_1H
from bot.services.gpu_views import GpuViews, IdleNudger
from bot.services.jobs import JobsService
from tests.support.alert_stack import alert_stack
from tests.support.alertmanager_server import AlertmanagerServer
from tests.support.botstack import button_value
from tests.support.prometheus_server import (
    RULES,
    RULES_TEST,
    PrometheusServer,
    backfill,
    fast_rules,
    openmetrics,
    promtool,
)
from tests.support.redis_server import free_port
from tests.support.waiting import wait

XID = ('DCGM_FI_DEV_XID_ERRORS{gpu="0",UUID="GPU-a",modelName="NVIDIA H100 80GB HBM3",hostname="h100-0",'
       'namespace="ml-research",pod="llama-ft-0-abcde"} 79\n')


def test_promtool_checks_and_unit_tests_the_rules() -> None:
    check = promtool("check", "rules", str(RULES))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "8 rules found" in check.stdout
    unit = promtool("test", "rules", str(RULES_TEST))
    assert unit.returncode == 0, unit.stdout + unit.stderr


class Exporter:
    """A tiny /metrics endpoint whose text the test changes."""

    def __init__(self) -> None:
        self.text = ""
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = exporter.text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    e = Exporter()
    yield e
    e.close()


def test_rule_fires_alertmanager_bot_slack_silence_resolve(redis_url: str, tmp_path: Path,
                                                           exporter: Exporter) -> None:
    exporter.text = XID
    # The bot must know Alertmanager's URL and Alertmanager the bot's: pick Alertmanager's port first.
    am_port = free_port()
    with alert_stack(redis_url, alertmanager_url=f"http://127.0.0.1:{am_port}") as stack:
        store = stack.bot.runtime.store
        store.submit(JobRecord(name="llama-ft", namespace="ml-research", team="research", owner="URES0001",
                               image="ghcr.io/acme/train:1.4", gpus=1, gpu_type="h100", idempotency_key="k1",
                               state="stopped", channel="CRESEARCH1", card_ts="1700000000.000001"))
        hook_url = f"http://127.0.0.1:{stack.bot.http.port}/alerts/alertmanager"
        am = AlertmanagerServer(hook_url, "test-alert-token", port=am_port, directory=tmp_path / "am")
        prom = PrometheusServer(scrape=[exporter.address], rules=[fast_rules(tmp_path)], alertmanager=am.address,
                                directory=tmp_path / "prom")
        with am, prom:
            # firing → one message in the on-call channel (critical), in the job's thread, and a DM
            first = stack.slack.wait_for(
                lambda c: c.method == "chat.postMessage" and c.args.get("channel") == "CONCALL01", timeout=30)
            text = json.dumps(first.args["blocks"])
            assert "GPUXidErrors" in text and "XID error 79" in text and "h100-0" in text
            stack.slack.wait_for(lambda c: c.method == "chat.postMessage" and c.status == 200
                                 and c.args.get("channel") == "CONCALL01")
            msg_ts = next(t for (ch, t) in stack.slack.messages if ch == "CONCALL01")
            calls = stack.slack.wait_until(lambda cs: len([c for c in cs if c.method == "chat.postMessage"]) >= 3)
            posts = {(c.args["channel"], c.args.get("thread_ts")) for c in calls if c.method == "chat.postMessage"}
            assert ("CRESEARCH1", "1700000000.000001") in posts and ("URES0001", None) in posts

            # [Silence 1h] → a silence in Alertmanager, created by the clicker; the message shows it
            gid = button_value({"blocks": first.args["blocks"]}, ALERT_SILENCE_1H)
            status, rid = stack.click(ALERT_SILENCE_1H, gid, "URES0002", channel="CONCALL01")
            assert status == 200 and "Silenced for 1h" in stack.answer(rid)["text"]
            active = [s for s in am.silences() if s["status"]["state"] == "active"]
            assert len(active) == 1 and active[0]["createdBy"] == "URES0002"
            matchers = {m["name"]: m["value"] for m in active[0]["matchers"]}
            assert matchers["alertname"] == "GPUXidErrors" and matchers["Hostname"] == "h100-0"
            wait(lambda: "Silenced by <@URES0002>" in json.dumps(stack.slack.messages[("CONCALL01", msg_ts)]),
                 what="the message showing the silence")
            # [Expire silence]
            status, rid = stack.click(ALERT_EXPIRE, gid, "URES0002", channel="CONCALL01")
            assert status == 200 and "Expired silence" in stack.answer(rid)["text"]
            assert [s["status"]["state"] for s in am.silences()] == ["expired"]

            # the metric goes away → Prometheus resolves → Alertmanager sends resolved → same message
            exporter.text = ""
            wait(lambda: "RESOLVED" in json.dumps(stack.slack.messages[("CONCALL01", msg_ts)]), timeout=40,
                 what="the message marked resolved")
            assert len([c for c in stack.slack.calls("chat.postMessage") if c.args["channel"] == "CONCALL01"]) == 1
            assert AlertStore(store.client).get(gid) is not None


# --- Prometheus views on a backfilled TSDB ----------------------------------------------------------


def dcgm_history(now: float) -> str:
    """6 h of DCGM samples (1 min apart): 4 H100s busy at 80% on h100-0 with pods of job llama-ft
    (memory 40 GiB each), and 2 L40S idle with pods of job idle-one; one L40S without a pod."""
    samples: list[tuple[str, dict[str, str], float, float]] = []
    start = now - 6 * 3600
    for i in range(6 * 60):
        t = start + i * 60
        for g in range(4):
            lbl = {"gpu": str(g), "UUID": f"GPU-h{g}", "modelName": "NVIDIA H100 80GB HBM3", "Hostname": "h100-0",
                   "namespace": "ml-research", "pod": f"llama-ft-{g}-abcde"}
            samples += [("DCGM_FI_DEV_GPU_UTIL", lbl, t, 80.0), ("DCGM_FI_DEV_FB_USED", lbl, t, 40960.0)]
        for g in range(2):
            lbl = {"gpu": str(g), "UUID": f"GPU-l{g}", "modelName": "NVIDIA L40S", "hostname": "l40s-0",
                   "namespace": "ml-research", "pod": f"idle-one-{g}-xyz12"}
            samples += [("DCGM_FI_DEV_GPU_UTIL", lbl, t, 1.0), ("DCGM_FI_DEV_FB_USED", lbl, t, 1024.0)]
        free = {"gpu": "3", "UUID": "GPU-l3", "modelName": "NVIDIA L40S", "hostname": "l40s-0", "pod": ""}
        samples.append(("DCGM_FI_DEV_GPU_UTIL", free, t, 0.0))
    return openmetrics(samples)


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    d = tmp_path_factory.mktemp("prom-backfill")
    now = time.time() - 30  # the head starts after the newest backfilled sample
    data = backfill(d, dcgm_history(now))
    with PrometheusServer(data=data, directory=d) as prom:
        yield prom  # type: ignore[misc]


def running(name: str, gpu_type: str, gpus: int, started_ago: float) -> JobRecord:
    return JobRecord(name=name, namespace="ml-research", team="research", owner="URES0001",
                     image="ghcr.io/acme/train:1.4", gpus=gpus, gpu_type=gpu_type, idempotency_key=f"k-{name}",
                     state="running", started_at=time.time() - started_ago)


def test_queries_escape_and_read_backfilled_dcgm(backfilled: PrometheusServer) -> None:
    prom = PrometheusGpu(backfilled.url)
    util = prom.util_by_model()
    assert round(util["NVIDIA H100 80GB HBM3"]) == 80
    stats = prom.job_stats("ml-research", "llama-ft")
    assert stats.gpus == 4 and round(stats.util or 0) == 80 and stats.memory_mib == 4 * 40960
    assert prom.job_stats("ml-research", 'llama"} or vector(1) or {x="').gpus == 0  # injection finds nothing
    assert prom.job_stats("ml-research", "llama").gpus == 0  # a prefix is not the job
    series = prom.usage(time.time() - 6 * 3600, time.time(), 300)
    assert set(series["util"]) == {"NVIDIA H100 80GB HBM3", "NVIDIA L40S"}
    alloc = dict(series["alloc"]["NVIDIA L40S"])
    assert round(list(alloc.values())[-1]) == 67  # 2 of 3 L40S GPUs have a pod


def test_gpus_usage_chart_and_idle_nudge(redis_url: str, backfilled: PrometheusServer) -> None:
    with alert_stack(redis_url, prometheus_url=backfilled.url) as stack:
        answer = stack.ask("gpus", "URES0001")
        text = json.dumps(answer)
        assert "utilization" in text and "80%" in text, text
        answer = stack.ask("usage 6h", "URES0001", channel="CRESEARCH1")
        assert "Posted the GPU usage chart" in answer["text"], answer
        assert stack.slack.wait_for("files.completeUploadExternal").status == 200
        png = next(iter(stack.slack.uploads.values()))
        assert png.startswith(b"\x89PNG")
        # Running records under their own prefix: the stack's dispatcher would mend them (no Kubernetes
        # Job behind them) before the checks below look at them.
        rt = dataclasses.replace(stack.bot.runtime, store=QueueStore(stack.bot.runtime.store.client, "views:"))
        rt.store.submit(running("llama-ft", "h100", 4, 7 * 3600))
        rt.store.submit(running("idle-one", "l40s", 2, 7 * 3600))
        prom = PrometheusGpu(backfilled.url)
        text = json.dumps(GpuViews(rt, JobsService(rt), prom).gpus().blocks_json())
        assert "ml-research/llama-ft" in text and "160.0 GiB" in text and "80%" in text
        # the idle job's owner is nudged once, with a [Stop job] button; the busy job is left alone
        nudger = IdleNudger(rt, prom, AlertStore(rt.store.client, "views:"))
        assert nudger.check() == ["ml-research/idle-one"]
        assert nudger.check() == []
        dm = stack.slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args.get("channel") == "URES0001")
        assert "idle-one" in dm.args["text"]
        assert button_value({"blocks": dm.args["blocks"]}, "alert_stop_job") == "ml-research/idle-one"


def test_stop_job_button_has_the_rights_of_gpu_stop(redis_url: str) -> None:
    with alert_stack(redis_url) as stack:
        store = stack.bot.runtime.store
        store.submit(JobRecord(name="waiting", namespace="ml-research", team="research", owner="URES0001",
                               image="ghcr.io/acme/train:1.4", gpus=64, gpu_type="h100", idempotency_key="k-w"))
        status, rid = stack.click("alert_stop_job", "ml-research/waiting", "URES0002")
        assert status == 200 and "URES0001" in stack.answer(rid)["text"]  # not theirs: refused, owner named
        assert (r := store.get("ml-research", "waiting")) is not None and r.state == "queued"
        status, rid = stack.click("alert_stop_job", "ml-research/waiting", "URES0001")
        assert "waiting" in stack.answer(rid)["text"]
        assert wait(lambda: (r := store.get("ml-research", "waiting")) is not None and r.state == "stopped")
