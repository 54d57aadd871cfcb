"""A real ``prometheus-alertmanager`` (Debian package) for tests: one route to the bot's webhook
receiver with a bearer token, fast grouping, clustering off."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.support.prom_process import ServerProcess
from tests.support.redis_server import free_port


class AlertmanagerServer(ServerProcess):
    binary = "prometheus-alertmanager"

    def __init__(self, webhook_url: str, token: str, *, group_by: list[str] | None = None,
                 port: int | None = None, directory: Path | None = None) -> None:
        super().__init__(port or free_port(), directory)
        config = {
            "route": {
                "receiver": "chatops", "group_by": group_by or ["alertname"],
                "group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h",
            },
            "receivers": [{
                "name": "chatops",
                "webhook_configs": [{
                    "url": webhook_url, "send_resolved": True,
                    "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
                }],
            }],
        }
        self.config = self.dir / "alertmanager.yml"
        self.config.write_text(yaml.safe_dump(config, sort_keys=False))

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def args(self) -> list[str]:
        return [
            self.executable, f"--config.file={self.config}", f"--storage.path={self.dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=", "--log.level=warn",
        ]

    def silences(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/api/v2/silences", timeout=10) as resp:
            out: list[dict[str, Any]] = json.load(resp)
            return out
