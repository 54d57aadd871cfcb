"""The HTTP front from outside: the signature is checked first, on the raw body; bad input gets a 4xx and
one log line, never a 500, a dropped connection or a traceback; broken framing (negative or huge
Content-Length, a stalled body) never holds a connection; a replayed signed request has no effect.

Driven through the real ``chatops run`` process and through the bot's own server on real parts."""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.http_server import ChatopsHTTPServer, HttpLimits
from bot.render import replies as rendering
from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from bot.sim.slack import requests as sr
from bot.sim.slack.web_api import FakeSlack
from tests.e2e.test_operations import _start_bot, _stopped
from tests.support.botstack import H100, POLICY_FILE, SECRET, BotStack, bot_stack, button_value
from tests.support.redis_server import free_port
from tests.support.waiting import wait

IMAGE = "ghcr.io/acme/train:1.4"


def _form_payload(payload: Any) -> bytes:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)}).encode()


# Signed by Slack's secret, yet not something bolt can read: each must be a 400.
MALFORMED: dict[str, tuple[bytes, str | None]] = {
    "payload= not JSON": (_form_payload("{not json"), None),
    "JSON body not JSON": (b"{not json", "application/json"),
    "JSON body a list": (b"[1, 2]", "application/json"),
    "actions not a list": (_form_payload({"type": "block_actions", "user": {"id": "U1"}, "actions": "x"}), None),
    "actions of strings": (_form_payload({"type": "block_actions", "user": {"id": "U1"}, "actions": ["x"]}), None),
    "event not an object": (json.dumps({"type": "event_callback", "event": "x"}).encode(), None),
    "event a list": (json.dumps({"type": "event_callback", "event": [1]}).encode(), None),
    "authorizations a string": (json.dumps({"type": "event_callback", "authorizations": "x",
                                            "event": {"type": "app_mention"}}).encode(), None),
    "user a number": (_form_payload({"type": "block_actions", "user": 5, "actions": []}), None),
    "not UTF-8": (b"text=\xff\xfe&user_id=U1", None),
}


def _raw(port: int, request: bytes, timeout: float = 5.0) -> tuple[bytes, float]:
    """Send raw bytes; (everything the server sent until it closed, seconds it took)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(request)
        out = b""
        while chunk := conn.recv(65536):
            out += chunk
    return out, time.monotonic() - started


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_chatops_run_refuses_bad_input_cleanly(redis_url: str, tmp_path: Path) -> None:
    """Unsigned junk is 401 before any parsing, signed junk 400, broken framing 400/413 at once: the
    log has one line per refused request and no traceback."""
    with FakeSlack() as slack, SimServer(SimCluster([NodeSpec("h100-0", 8, H100)])) as sim:
        env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack.url, "REDIS_URL": redis_url, "ALERT_WEBHOOK_TOKEN": "t",
               "ALERT_WEBHOOK_MAX_BYTES": "100000",
               "KUBECONFIG": str(sim.write_kubeconfig(tmp_path / "kubeconfig")), "CHATOPS_CONFIG": str(POLICY_FILE)}
        env.pop("SLACK_APP_TOKEN", None)
        port = free_port()
        url = f"http://127.0.0.1:{port}/slack/events"
        log = tmp_path / "bot.log"
        proc = _start_bot(env, port, log)
        try:
            refused = 0
            for body, content_type in MALFORMED.values():  # unsigned (a wrong secret): 401, nothing parsed
                assert sr.post(url, body, sr.sign(body, "not-the-secret", content_type=content_type))[0] == 401
                refused += 1
            for name, (body, content_type) in MALFORMED.items():
                status, _, answer = sr.post(url, body, sr.sign(body, SECRET, content_type=content_type))
                assert (status, json.loads(answer)) == (400, {"error": "malformed request"}), name
                refused += 1
            stale = sr.slash_command_body("help", "URES0001")
            assert sr.post(url, stale, sr.sign(stale, SECRET, timestamp=int(time.time()) - 3600))[0] == 401
            refused += 1
            assert sr.post(url, stale, {**sr.sign(stale, SECRET), "X-Slack-Request-Timestamp": "9" * 5000})[0] == 401
            refused += 1
            for length in (b"-1", b"abc", b"99999999999"):  # answered at once, connection closed
                out, took = _raw(port, b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: " + length
                                 + b"\r\nContent-Type: application/json\r\n\r\n{}")
                assert _status(out) == (413 if length.isdigit() else 400) and took < 2, (length, out[:200])
                refused += 1
            big = b'{"alerts": [' + b"0," * 60_000 + b"0]}"
            out, _ = _raw(port, b"POST /alerts/alertmanager HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                          b"Authorization: Bearer t\r\nContent-Type: application/json\r\n"
                          b"Content-Length: " + str(len(big)).encode() + b"\r\n\r\n" + big)
            assert _status(out) == 413
            refused += 1
            # the bot still serves a good request after all that
            ok = sr.slash_command_body("help", "URES0001", response_url=slack.response_url("help"))
            assert sr.send(url, ok, SECRET)[0] == 200
            slack.wait_for(lambda c: c.args.get("_id") == "help", timeout=10)
        finally:
            assert _stopped(proc, log) == 0
        text = log.read_text()
        assert "Traceback" not in text and '"level": "error"' not in text, text[-3000:]
        lines = [json.loads(line)["message"] for line in text.splitlines() if line.startswith("{")]
        refusals = [m for m in lines if m.startswith("refused ")]
        assert len(refusals) == refused, "\n".join(refusals)
        assert any("bad signature" in m for m in refusals) and any("unparseable" in m for m in refusals)
        assert any(f"{len(big):,} bytes is over the 100,000 bytes limit" in m
                   for m in refusals if "/alerts/alertmanager" in m), refusals
        assert SECRET not in text and "Bearer t" not in text


@pytest.fixture
def stack(redis_url: str) -> Iterator[BotStack]:
    with bot_stack(redis_url) as s:
        yield s


def _mutations(rng: random.Random, response_url: str) -> Iterator[dict[str, Any]]:
    """Real Slack envelopes with one field replaced by a value of another type."""
    click = sr.block_actions_payload(rendering.LAUNCH_CONFIRM, "tok", "URES0001", response_url=response_url)
    event = json.loads(sr.event_body(sr.app_mention_event("<@UBOT0001> list", "URES0001")))
    junk: list[Any] = ["x", 7, 1.5, None, True, [], [1, "a"], {}, {"id": 3}, [{}], [{"id": []}]]
    for _ in range(120):
        body = json.loads(json.dumps(rng.choice([click, event])))
        target = body
        path = [k for k in body if isinstance(body[k], dict | list)]
        if path and rng.random() < 0.5:  # one level down, too
            inner = body[rng.choice(path)]
            target = inner[0] if isinstance(inner, list) and inner and isinstance(inner[0], dict) else inner
        if isinstance(target, dict) and target:
            target[rng.choice(sorted(target))] = rng.choice(junk)
        yield body


def test_fuzzed_signed_envelopes_never_500(stack: BotStack, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    rng = random.Random(12)
    seen = set()
    for body in _mutations(rng, stack.slack.response_url("fuzz")):
        raw = _form_payload(body) if body.get("type") == "block_actions" else json.dumps(body).encode()
        status, _, _ = sr.send(stack.events_url, raw, SECRET)
        assert status in (200, 400, 404), (status, body)  # 404: bolt has no listener for it
        seen.add(status)
    assert {200, 400} <= seen
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not tracebacks, [r.getMessage() for r in tracebacks][:5]


def test_a_replayed_request_has_no_effect(stack: BotStack) -> None:
    """The same signed bytes again within the window: 200 and nothing done; Slack's retries (a new
    timestamp and signature) are still handled as before."""
    user = "URES0001"
    body = sr.slash_command_body(f"launch again --image {IMAGE} --gpus 1 --gpu-type h100", user,
                                 response_url=stack.slack.response_url("preview"))
    headers = sr.sign(body, SECRET)
    assert sr.post(stack.events_url, body, headers)[0] == 200
    preview = stack.answer("preview")
    status, _, answer = sr.post(stack.events_url, body, headers)  # a replay
    assert (status, answer) == (200, b"")
    click = sr.block_actions_body(rendering.LAUNCH_CONFIRM, button_value(preview, rendering.LAUNCH_CONFIRM), user,
                                  response_url=stack.slack.response_url("click"))
    click_headers = sr.sign(click, SECRET)
    assert sr.post(stack.events_url, click, click_headers)[0] == 200
    assert "Submitted `again`" in stack.answer("click")["text"]
    assert sr.post(stack.events_url, click, click_headers)[0] == 200  # the click replayed
    retry = sr.slash_command_body("help", user, response_url=stack.slack.response_url("retried"))
    assert sr.send(stack.events_url, retry, SECRET)[0] == 200
    assert sr.send(stack.events_url, retry, SECRET, timestamp=int(time.time()) + 1, retry_num=1)[0] == 200
    stack.slack.wait_until(lambda cs: sum(c.args.get("_id") == "retried" for c in cs) == 2, timeout=10)
    answers = [c.args.get("_id") for c in stack.slack.calls("response_url")]
    assert answers.count("preview") == 1 and answers.count("click") == 1, answers
    assert [r.name for r in stack.bot.runtime.store.list(owner=user)] == ["again"]


def test_a_stalled_request_is_closed_after_the_idle_timeout() -> None:
    """A client that announces a body and stops sending holds no thread and is cut after the idle time;
    meanwhile other requests are served."""
    server = ChatopsHTTPServer("127.0.0.1", 0, None, ready=lambda: True,
                               limits=HttpLimits(idle_timeout_s=2, threads=1))
    server.start()
    try:
        stalled = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(5)]
        for conn in stalled:
            conn.sendall(b"POST /alerts/alertmanager HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123")
        out, took = _raw(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert _status(out) == 200 and took < 1
        started = time.monotonic()
        for conn in stalled:
            with conn:
                assert conn.recv(100) == b""  # closed by the server, no answer owed
        assert time.monotonic() - started < 6
    finally:
        server.stop()


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return False
    except (ConnectionRefusedError, ConnectionResetError):  # reset: it was in the backlog as the socket closed
        return True


def test_stop_takes_no_new_request_and_finishes_the_one_in_flight() -> None:
    entered, release = threading.Event(), threading.Event()

    def slow_route(authorization: str | None, body: bytes) -> tuple[int, str]:
        entered.set()
        release.wait(10)
        return 200, "accepted\n"

    server = ChatopsHTTPServer("127.0.0.1", 0, None, ready=lambda: True)
    server.alerts = slow_route
    server.start()
    url = f"http://127.0.0.1:{server.port}/alerts/alertmanager"
    answers: list[tuple[int, dict[str, str], bytes]] = []
    client = threading.Thread(target=lambda: answers.append(sr.post(url, b"{}", {}, timeout=15)))
    client.start()
    assert entered.wait(5)
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    wait(lambda: _refused(server.port), 5, "the listening socket to close")
    assert stopper.is_alive(), "stop waits for the request in flight"
    release.set()
    stopper.join(10)
    client.join(10)
    assert not stopper.is_alive() and [(s, b) for s, _, b in answers] == [(200, b"accepted\n")]
