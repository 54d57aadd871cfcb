"""``chatops demo`` as a newcomer starts it: a subprocess with a fresh HOME and no REDIS_URL, typed
into through stdin. It must show the banner, answer, and end with exit code 0 on /quit, Ctrl-C,
SIGTERM and end of input. The time from process start to the first prompt is measured."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PROMPT = "URES0001 #CRESEARCH1> "
STARTUP_BUDGET_S = 60.0  # the target: console up within a minute on a 2-core machine


def chatops() -> list[str]:
    script = Path(sys.executable).with_name("chatops")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]


class Demo:
    def __init__(self, home: Path, args: tuple[str, ...] = ("demo", "--speed", "60"),
                 extra_env: dict[str, str] | None = None) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("REDIS_", "SLACK_", "CHATOPS_", "KUBECONFIG", "PROMETHEUS_", "ALERT"))}
        env["HOME"] = str(home)
        env.update(extra_env or {})
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [*chatops(), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env, cwd=home, text=True, encoding="utf-8",
        )
        self._cond = threading.Condition()
        self.output = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while chunk := self.proc.stdout.read(1):
            with self._cond:
                self.output += chunk
                self._cond.notify_all()

    def wait_for(self, text: str, start: int = 0, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        with self._cond:
            while (at := self.output.find(text, start)) < 0:
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no {text!r} within {timeout}s (exit {self.proc.poll()}):\n"
                                         f"{self.output[-3000:]}")
                self._cond.wait(min(left, 0.5))
            return at

    def type(self, line: str) -> int:
        at = len(self.output)
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return at

    def exit_code(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout=timeout)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    d = Demo(tmp_path)
    try:
        yield d
    finally:
        if d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait(timeout=10)


def first_prompt(d: Demo) -> float:
    d.wait_for(PROMPT, timeout=STARTUP_BUDGET_S)
    elapsed = time.monotonic() - d.started
    print(f"\nchatops demo: first prompt {elapsed:.2f}s after process start", file=sys.stderr)
    return elapsed


def test_demo_banner_answer_and_quit(demo: Demo) -> None:
    assert first_prompt(demo) < STARTUP_BUDGET_S
    banner = demo.output
    for shown in ("gpu-chatops console", "4 × 8 H100, 2 × 4 L40S", "/gpu launch demo --template smoke",
                  "SIM_FAIL=OOMKilled", "/quit"):
        assert shown in banner, shown
    at = demo.type("/gpu gpus")
    demo.wait_for("Cluster GPUs", at)
    demo.wait_for("l40s", at)
    at = demo.type("/quit")
    demo.wait_for("Bye.", at)
    code = demo.exit_code()
    assert code == 0 and "Traceback" not in demo.output, (code, demo.output[-3000:])


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "EOF"])
def test_demo_ends_cleanly_on_ctrl_c_sigterm_and_eof(demo: Demo, how: str) -> None:
    first_prompt(demo)
    at = demo.type("/gpu queue")
    demo.wait_for("reply", at)
    if how == "EOF":
        assert demo.proc.stdin is not None
        demo.proc.stdin.close()
    else:
        demo.proc.send_signal(getattr(signal, how))
    code = demo.exit_code()
    assert code == 0 and "Traceback" not in demo.output, (code, demo.output[-3000:])


def test_console_against_a_cluster_from_kubeconfig(tmp_path: Path) -> None:
    """``chatops console`` alone: the cluster comes from KUBECONFIG (here a simulated one)."""
    from bot.sim.apiserver import SimServer
    from bot.sim.cluster import NodeSpec, SimCluster

    with SimServer(SimCluster([NodeSpec("gpu-h100-0", 8, "NVIDIA-H100-80GB-HBM3")])) as sim:
        kubeconfig = sim.write_kubeconfig(tmp_path / "sim.kubeconfig")
        d = Demo(tmp_path, ("console", "--user", "URES0002"), {"KUBECONFIG": str(kubeconfig)})
        try:
            d.wait_for("URES0002 #CRESEARCH1> ", timeout=STARTUP_BUDGET_S)
            at = d.type("/gpu gpus")
            d.wait_for("h100           8       0     8", at)
            d.type("/quit")
            assert d.exit_code() == 0, d.output[-3000:]
        finally:
            if d.proc.poll() is None:
                d.proc.kill()


def test_console_without_a_cluster_says_what_to_do(tmp_path: Path) -> None:
    d = Demo(tmp_path, ("console",))
    assert d.exit_code() == 2
    d.wait_for("Set KUBECONFIG")
    d.wait_for("chatops demo")
