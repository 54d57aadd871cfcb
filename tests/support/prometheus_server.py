"""A real ``prometheus`` (Debian package) for tests: optional backfilled TSDB, scrape targets, rule
files and an Alertmanager; plus ``backfill`` (promtool tsdb create-blocks-from openmetrics) and
``fast_rules`` (a copy of a rule file with short intervals and ``for: 0s`` so rules fire in seconds)."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from tests.support.prom_process import ServerProcess
from tests.support.redis_server import free_port

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "gpu-rules.yaml"
RULES_TEST = RULES.with_name("gpu-rules.test.yaml")


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    if exe is None:
        raise RuntimeError("promtool was not found on PATH: run `make system-deps`")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120, check=False)


def openmetrics(samples: Iterable[tuple[str, dict[str, str], float, float]]) -> str:
    """(metric, labels, timestamp s, value) → OpenMetrics text, grouped by metric as the format needs."""
    by_metric: dict[str, list[str]] = {}
    for metric, labels, ts, value in samples:
        lbl = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        by_metric.setdefault(metric, []).append(f"{metric}{{{lbl}}} {value} {ts:.3f}")
    lines: list[str] = []
    for metric, rows in by_metric.items():
        lines += [f"# TYPE {metric} gauge", *rows]
    return "\n".join([*lines, "# EOF", ""])


def backfill(directory: Path, text: str) -> Path:
    """Blocks for ``text`` (OpenMetrics) in ``directory``/data, ready for --storage.tsdb.path."""
    src = directory / "backfill.om"
    src.write_text(text)
    data = directory / "data"
    out = promtool("tsdb", "create-blocks-from", "openmetrics", str(src), str(data))
    if out.returncode != 0:
        raise RuntimeError(f"promtool backfill failed: {out.stderr[-2000:]}")
    return data


def fast_rules(directory: Path, interval: str = "1s") -> Path:
    """The project's rule file with every group evaluated each ``interval`` and every ``for:`` zero."""
    doc = yaml.safe_load(RULES.read_text())
    for group in doc["groups"]:
        group["interval"] = interval
        for rule in group["rules"]:
            rule["for"] = "0s"
    path = directory / "gpu-rules.fast.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


class PrometheusServer(ServerProcess):
    binary = "prometheus"

    def __init__(self, *, data: Path | None = None, scrape: list[str] | None = None,
                 rules: list[Path] | None = None, alertmanager: str | None = None, interval: str = "1s",
                 directory: Path | None = None) -> None:
        super().__init__(free_port(), directory)
        self.data = data or (self.dir / "data")
        config: dict[str, Any] = {"global": {"scrape_interval": interval, "evaluation_interval": interval}}
        if scrape:
            config["scrape_configs"] = [{"job_name": "dcgm", "static_configs": [{"targets": scrape}]}]
        if rules:
            config["rule_files"] = [str(p) for p in rules]
        if alertmanager:
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
        self.config = self.dir / "prometheus.yml"
        self.config.write_text(yaml.safe_dump(config))

    def args(self) -> list[str]:
        return [
            self.executable, f"--config.file={self.config}", f"--storage.tsdb.path={self.data}",
            f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=30d",
            "--rules.alert.resend-delay=1s", "--log.level=warn",
        ]

    def query(self, promql: str) -> list[dict[str, Any]]:
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(url, timeout=10) as resp:
            result: list[dict[str, Any]] = json.load(resp)["data"]["result"]
            return result

    def alerts(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v1/alerts", timeout=10) as resp:
            out: list[dict[str, Any]] = json.load(resp)["data"]["alerts"]
            return out
