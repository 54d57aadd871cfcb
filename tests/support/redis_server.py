"""A real ``redis-server`` on a free loopback port, for tests and benchmarks.

AOF is on with ``appendfsync always`` so that a reply means the write is on disk: ``restart()``
(SIGKILL, then start again on the same dir and port) proves acknowledged writes survive a crash.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

MISSING_MESSAGE = (
    "redis-server was not found on PATH. The tests need a real Redis: run `make test`, "
    "which installs it (Debian: apt-get install redis-server)."
)


class RedisServerError(RuntimeError):
    """redis-server could not be started or did not answer in time."""


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _ping(port: int, password: str | None = None, timeout: float = 0.5) -> bool:
    """True when Redis answers +PONG (it answers -LOADING while it replays the AOF)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall((f"AUTH {password}\r\n" if password else "").encode() + b"PING\r\n")
            data = b""
            while b"PONG" not in data and data.count(b"\r\n") < (2 if password else 1):
                chunk = s.recv(256)
                if not chunk:
                    break
                data += chunk
            return b"+PONG" in data
    except OSError:
        return False


class RedisServer:
    """One redis-server process; use as a context manager or call start()/close()."""

    def __init__(
        self,
        *,
        executable: str | None = None,
        port: int | None = None,
        directory: str | Path | None = None,
        password: str | None = None,
        startup_timeout: float = 15.0,
    ) -> None:
        found = executable or shutil.which("redis-server")
        if found is None:
            raise RedisServerError(MISSING_MESSAGE)
        self.executable = found
        self.port = port or free_port()
        self._owns_dir = directory is None
        self.dir = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="chatops-redis-"))
        self.password = password
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def log_path(self) -> Path:
        return self.dir / "redis.log"

    def _args(self) -> list[str]:
        args = [
            self.executable,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--dir", str(self.dir),
            "--logfile", str(self.log_path),
            "--daemonize", "no",
        ]  # fmt: skip
        if self.password:
            args += ["--requirepass", self.password]
        return args

    def start(self) -> RedisServer:
        if self._proc is not None and self._proc.poll() is None:
            return self
        self._proc = subprocess.Popen(
            self._args(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RedisServerError(f"redis-server exited with {self._proc.returncode}: {self._tail()}")
            if _ping(self.port, self.password):
                return self
            time.sleep(0.01)  # short poll; the deadline bounds the wait
        self.kill()
        raise RedisServerError(f"no PING answer within {self.startup_timeout}s: {self._tail()}")

    def _tail(self) -> str:
        err = b""
        if self._proc is not None and self._proc.stderr is not None and self._proc.poll() is not None:
            err = self._proc.stderr.read() or b""
        log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return (err.decode(errors="replace") + log)[-2000:].strip()

    def stop(self, timeout: float = 10.0) -> None:
        """Clean stop: SHUTDOWN NOSAVE, falling back to SIGTERM then SIGKILL."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as s,
            ):
                if self.password:
                    s.sendall(f"AUTH {self.password}\r\n".encode())
                s.sendall(b"SHUTDOWN NOSAVE\r\n")
                s.recv(64)  # the server closes the connection as it exits
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._close_pipes(proc)
        self._proc = None

    def kill(self) -> None:
        """Crash it: SIGKILL, no chance to flush anything."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        self._close_pipes(proc)
        self._proc = None

    @staticmethod
    def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
        if proc.stderr is not None:
            proc.stderr.close()

    def restart(self, *, crash: bool = True) -> RedisServer:
        """Kill -9 (or stop cleanly) and start again on the same port and dir; the AOF is replayed."""
        if crash:
            self.kill()
        else:
            self.stop()
        return self.start()

    def close(self) -> None:
        self.stop()
        if self._owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        try:
            return self.start()
        except BaseException:
            self.close()  # __exit__ will not run: do not leak the process or the temp dir
            raise

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
