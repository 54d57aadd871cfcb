"""The demo does not outlive its terminal: in a pty, it ends when the terminal closes (SIGHUP, and EOF/EIO
on its input even without the signal), started directly or under ``make demo``; ``--config`` and ``/help``."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.test_demo import PROMPT, STARTUP_BUDGET_S, chatops

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parents[1]


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("REDIS_", "SLACK_", "CHATOPS_", "KUBECONFIG", "PROMETHEUS_", "ALERT", "MAKE"))}
    return {**env, "HOME": str(home), "TERM": "dumb"}


class Terminal:
    """A pty with ``argv`` on its slave side; ``controlling``: the pty is the process's terminal (so closing
    it sends SIGHUP, as a killed tmux or a dropped SSH session does)."""

    def __init__(self, argv: list[str], home: Path, controlling: bool = True) -> None:
        self.master, slave = pty.openpty()

        def take_terminal() -> None:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=_env(home), cwd=ROOT,
                                     start_new_session=True, preexec_fn=take_terminal if controlling else None)
        os.close(slave)
        self.output = b""

    def wait_for(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.output:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                tail = self.output[-3000:].decode(errors="replace")
                raise AssertionError(f"no {text!r} (exit {self.proc.poll()}):\n{tail}")
            ready, _, _ = select.select([self.master], [], [], min(left, 0.5))
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:
                    break

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def close(self) -> None:
        os.close(self.master)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def _gone(pids: list[int], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{p}").exists() and "zombie" not in _state(p) for p in pids):
            return True
        time.sleep(0.1)
    return False


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split("\n")[0].lower()
    except (OSError, IndexError):
        return "zombie"


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _run(tmp_path: Path, argv: list[str], controlling: bool, end: Callable[[Terminal], None]) -> Terminal:
    term = Terminal(argv, tmp_path, controlling)
    try:
        term.wait_for(PROMPT, STARTUP_BUDGET_S)
        end(term)
        pids = [term.proc.pid, *_children(term.proc.pid)]
        assert _gone(pids), f"still running after the terminal closed: {pids}"
        term.proc.wait(timeout=5)
        return term
    finally:
        term.kill()


@pytest.mark.parametrize("controlling", [True, False], ids=["sighup", "eio-only"])
def test_the_demo_ends_when_its_terminal_closes(tmp_path: Path, controlling: bool) -> None:
    term = _run(tmp_path, [*chatops(), "demo", "--speed", "60"], controlling, Terminal.close)
    assert term.proc.returncode == 0  # a clean stop (the bot and the sim shut down), not killed by the signal


def test_sighup_with_the_terminal_still_open_ends_it_cleanly(tmp_path: Path) -> None:
    def hang_up(term: Terminal) -> None:
        term.proc.send_signal(signal.SIGHUP)
        term.wait_for("Bye.", 30)

    term = _run(tmp_path, [*chatops(), "demo", "--speed", "60"], True, hang_up)
    assert term.proc.returncode == 0 and b"Traceback" not in term.output


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_under_make_the_demo_and_make_end_with_the_terminal(tmp_path: Path) -> None:
    stamp = VENV / ".runtime-installed"  # the runtime is this test's own virtualenv: nothing to install
    argv = ["make", "--no-print-directory", "-C", str(ROOT), "demo", f"VENV={VENV}", f"RUNTIME_STAMP={stamp}",
            "DEMO_ARGS=--speed 60"]
    stamp.touch()
    _run(tmp_path, argv, True, Terminal.close)


def test_help_lists_the_demo_users_and_the_sim_conventions_and_config_is_used(tmp_path: Path) -> None:
    policy = tmp_path / "mine.yaml"
    policy.write_text((ROOT / "examples/chatops.yaml").read_text()
                      .replace("members: [UVIS0001]", "members: [UVIS0001, UVIS0002]"))
    term = Terminal([*chatops(), "demo", "--speed", "60", "--config", str(policy)], tmp_path)
    try:
        term.wait_for(PROMPT, STARTUP_BUDGET_S)
        term.type("/help")
        term.wait_for("SIM_FAIL=OOMKilled", 30)
        term.wait_for("team vision in #CVISION01: UVIS0001, UVIS0002", 30)
        for shown in ("team research in #CRESEARCH1: URES0001, URES0002, URES0003", "admin: UADMIN01",
                      "SIM_DURATION=30m", "`/gpu usage` has no history"):
            assert shown.encode() in term.output, shown
        term.type("/quit")
        term.wait_for("Bye.", 30)
        assert term.proc.wait(timeout=30) == 0
    finally:
        term.kill()
