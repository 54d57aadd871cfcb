"""A server process on a free loopback port, ready when an HTTP path answers 200 (shared by the
Prometheus and Alertmanager helpers)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

MISSING = (
    "{binary} was not found on PATH. These tests start the real server: run `make system-deps` "
    "(Debian: apt-get install prometheus prometheus-alertmanager)."
)


class ServerProcess:
    binary = ""
    ready_path = "/-/ready"

    def __init__(self, port: int, directory: Path | None = None, startup_timeout: float = 30.0) -> None:
        found = shutil.which(self.binary)
        if found is None:
            raise RuntimeError(MISSING.format(binary=self.binary))
        self.executable = found
        self.port = port
        self.dir = directory or Path(tempfile.mkdtemp(prefix=f"chatops-{self.binary}-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def args(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> ServerProcess:
        log = (self.dir / "server.log").open("wb")
        self._proc = subprocess.Popen(self.args(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"{self.binary} exited with {self._proc.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.binary} not ready within {self.startup_timeout}s: {self.log_tail()}")

    def log_tail(self) -> str:
        path = self.dir / "server.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
