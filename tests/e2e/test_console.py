"""The console driven through its streams, against the demo setup in this process: the simulated
cluster, the store, the real bot in HTTP mode with signed requests, the console's Slack surface.

Waits are on the transcript with deadlines, never fixed sleeps.
"""

from __future__ import annotations

import io
import os
import re
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from pydantic import SecretStr

from bot.console import demo, payloads
from bot.console.session import Console
from bot.settings import Settings

IMAGE = "ghcr.io/acme/train:1.4"
STACK_THREADS = ("slack-surface", "http", "dispatcher", "sim-apiserver")


class Transcript(io.TextIOBase):
    """The console's output: everything written, with a wait for what the test expects."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._text = ""

    def write(self, s: str) -> int:
        with self._cond:
            self._text += s
            self._cond.notify_all()
        return len(s)

    def writable(self) -> bool:
        return True

    @property
    def text(self) -> str:
        with self._cond:
            return self._text

    def wait_for(self, pattern: str, start: int = 0, timeout: float = 20.0) -> re.Match[str]:
        """The first match of ``pattern`` in the output after position ``start``."""
        regex = re.compile(pattern, re.DOTALL)
        deadline = time.monotonic() + timeout
        with self._cond:
            while (m := regex.search(self._text, start)) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {pattern!r} within {timeout}s; output after {start}:\n"
                                         f"{self._text[start:][-3000:]}")
                self._cond.wait(left)
            return m


@dataclass
class Driven:
    console: Console
    out: Transcript
    _typist: Any
    thread: threading.Thread
    result: list[int]

    def type(self, line: str) -> int:
        """Type a line; returns the output position from where its answer will be."""
        at = len(self.out.text)
        self._typist.write(line + "\n")
        self._typist.flush()
        return at

    def ask(self, line: str, expect: str, timeout: float = 20.0) -> str:
        at = self.type(line)
        return self.out.wait_for(expect, at, timeout).group(0)

    def button(self, label: str, start: int = 0) -> int:
        """The number shown for the last ``[N] label`` after ``start``."""
        found = re.findall(rf"\[(\d+)\] {re.escape(label)}", self.out.text[start:])
        assert found, f"no [N] {label} in:\n{self.out.text[start:][-2000:]}"
        return int(found[-1])


def drive(base: Settings, speed: float = 60.0) -> Generator[Driven, None, None]:
    """``run_demo`` on a thread, typed into through a pipe, read through the transcript."""
    read_fd, write_fd = os.pipe()
    with open(read_fd, encoding="utf-8") as typed, open(write_fd, "w", encoding="utf-8") as typist:
        out = Transcript()
        console = Console(typed, out, reply_timeout=15.0)  # type: ignore[arg-type]
        result: list[int] = []
        thread = threading.Thread(target=lambda: result.append(demo.run_demo(console, base, speed=speed)),
                                  name="console-under-test")
        thread.start()
        driven = Driven(console, out, typist, thread, result)
        try:
            out.wait_for(r"URES0001 #CRESEARCH1> ", timeout=60)
            yield driven
        finally:
            if thread.is_alive() and not typist.closed:
                typist.write("/quit\n")
                typist.flush()
            thread.join(timeout=30)
    assert not thread.is_alive(), "the console did not end after /quit"


@pytest.fixture
def console() -> Iterator[Driven]:
    yield from drive(Settings())


def launch(c: Driven, name: str, flags: str) -> int:
    """Preview, then type the number of [Launch]; returns the output position before the click."""
    c.ask(f"/gpu launch {name} {flags}", r"\[\d+\] Launch\s+\[\d+\] Cancel")
    number = c.button("Launch")
    at = c.type(str(number))
    c.out.wait_for(rf"Submitted `{name}`", at)
    return at


def test_launch_preview_click_card_running_succeeded(console: Driven) -> None:
    c = console
    preview = c.ask(f"/gpu launch quick --image {IMAGE} --gpus 1 --gpu-type l40s --time 10m --env SIM_DURATION=3m",
                    r"reply \(only you can see this\).*?Cancel")
    for shown in ("Launch `quick`?", IMAGE, "1 × l40s", "ml-research", "Owner: @URES0001"):
        assert shown in preview, (shown, preview)
    assert re.search(r"\[\d+\] Launch\s+\[\d+\] Cancel", preview)
    at = c.type(str(c.button("Launch")))
    c.out.wait_for(r"Submitted `quick`; its card is in #CRESEARCH1", at)
    c.out.wait_for(r"── #CRESEARCH1 · card quick ──\n=== quick ===", at)
    running = c.out.wait_for(r"\[updated card quick\] ──\n=== quick ===\n[^\n]*Running", at)
    c.out.wait_for(r"\[updated card quick\] ──\n=== quick ===\n[^\n]*Succeeded", running.end(), timeout=30)
    at = c.type("/quit")
    c.out.wait_for("Bye.", at)
    c.thread.join(timeout=30)
    assert c.result == [0]
    alive = [t.name for t in threading.enumerate() if t.name in STACK_THREADS]
    assert not alive, f"threads left running: {alive}"


def test_smoke_template_and_a_failing_job(console: Driven) -> None:
    c = console
    at = launch(c, "smoke1", "--template smoke --gpu-type l40s --env SIM_DURATION=10s")
    c.out.wait_for(r"\[updated card smoke1\] ──\n=== smoke1 ===\n[^\n]*Succeeded", at, timeout=30)
    at = launch(c, "oom", f"--image {IMAGE} --gpus 4 --gpu-type h100 --env SIM_FAIL=OOMKilled --env SIM_DURATION=20s")
    c.out.wait_for(r"\[updated card oom\] ──\n=== oom ===\n[^\n]*Failed", at, timeout=30)


def test_confirm_asks_first_then_stop_from_the_card(console: Driven) -> None:
    c = console
    at = launch(c, "long", f"--image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=1h")
    c.out.wait_for(r"\[updated card long\].*?Running.*?\[\d+\] Stop", at)
    stop = c.button("Stop", at)
    at = c.type(str(stop))  # the bot checks who clicked, then asks (only the clicker sees it)
    c.out.wait_for(r"Stop `long`\?.*?\[\d+\] Cancel", at)
    at = c.type(str(c.button("Cancel", at)))
    c.out.wait_for("Nothing was stopped.", at)
    c.ask("/gpu list", r"`long` · running", timeout=10)
    at = c.type(str(stop))
    c.out.wait_for(r"Stop `long`\?.*?\[\d+\] Cancel", at)
    confirm = c.button("Stop", at)
    c.ask(str(confirm), r"Stopped `long`")
    c.out.wait_for(r"\[updated card long\] ──\n=== long ===\n[^\n]*Stopped", at)


def test_sentences_gpus_help_and_console_commands(console: Driven) -> None:
    c = console
    c.ask("/gpu gpus", r"Cluster GPUs\*\n```\ntype .*?\nh100\s+32\s+\d+\s+\d+\nl40s\s+8\s")
    c.ask("show my jobs", r"only @URES0001 can see this ──\n")  # an app_mention: answered ephemerally
    c.ask("/home", r"── App Home of @URES0001 ──\n.+")  # app_home_opened → views.publish, shown whole
    c.ask("/help-console", r"A number clicks the button")
    c.ask("99", r"There is no button \[99\]")
    c.ask("/nope", r"`/nope` is not a command here")
    c.ask("/user bad", r"`bad` is not a Slack user ID")
    c.ask("/channel DURES0001", r"You are now @URES0001 in #DURES0001")
    c.ask("what can you do", r"── DM · message ──\n")  # a message.im: answered in the DM
    c.ask("/user UNOBODY1", r"You are now @UNOBODY1")
    c.ask(f"/gpu launch x --image {IMAGE} --gpus 1 --gpu-type h100", r"not a member of any team")


def test_requests_are_signed_with_the_runs_secret(console: Driven) -> None:
    link = console.console._link
    assert link is not None and len(link.secret) >= 32
    body = payloads.slash_command("gpus", "URES0001", "CRESEARCH1", "http://127.0.0.1:9/none")
    forged = payloads.BotLink(link.events_url, "not-the-secret")
    assert forged.send(body)[0] == 401
    assert link.send(body)[0] == 200


def test_eof_ends_the_console(tmp_path: Any) -> None:
    gen = drive(Settings())
    c = next(gen)
    c._typist.close()  # end of input, as Ctrl-D
    c.thread.join(timeout=30)
    assert c.result == [0]
    with pytest.raises(StopIteration):
        next(gen)


def test_real_redis_when_redis_url_is_set(redis_url: str) -> None:
    gen = drive(Settings(redis_url=SecretStr(redis_url)))
    c = next(gen)
    try:
        launch(c, "inredis", f"--image {IMAGE} --gpus 1 --gpu-type l40s --env SIM_DURATION=1h")
        client = redis.Redis.from_url(redis_url)
        try:
            # the job record is in the real server, not in an embedded store
            assert [k for k in client.keys("*job:ml-research/inredis")], client.keys("*")
        finally:
            client.close()
    finally:
        gen.close()
