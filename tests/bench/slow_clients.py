"""`/gpu help` while the HTTP front holds 300 idle connections and 20 slow-loris clients (each sends a
request's headers one byte at a time and never finishes). Idle and slow sockets cost the server a
socket, not a thread, so the signed request is answered as fast as on a quiet server.

Reports the ack (HTTP 200) and the answer at the response_url, median / p99 / max, with and without
the crowd; the target is < 1 s.

    .venv/bin/python -m tests.bench.slow_clients [--idle 300 --slow 20 --requests 50]
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import threading
import time

from bot.sim.slack import requests as sr
from tests.support.botstack import SECRET, BotStack, bot_stack
from tests.support.redis_server import RedisServer

SLOW_REQUEST = (b"POST /slack/events HTTP/1.1\r\nHost: bot\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                b"X-Slack-Request-Timestamp: 1700000000\r\nUser-Agent: " + b"s" * 4000)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _help(stack: BotStack, n: int, tag: str) -> tuple[list[float], list[float]]:
    acks, answers = [], []
    for i in range(n):
        rid = f"{tag}{i}"
        body = sr.slash_command_body("help", "URES0001", response_url=stack.slack.response_url(rid))
        t0 = time.perf_counter()
        status, _, _ = sr.send(stack.events_url, body, SECRET)
        acks.append((time.perf_counter() - t0) * 1000)
        assert status == 200, status
        stack.slack.wait_for(lambda c, rid=rid: c.args.get("_id") == rid, timeout=10)  # type: ignore[misc]
        answers.append((time.perf_counter() - t0) * 1000)
    return acks, answers


def _trickle(conns: list[socket.socket], stop: threading.Event, every_s: float) -> None:
    """One more header byte per slow client every ``every_s``: never a complete request."""
    at = 0
    while not stop.wait(every_s):
        for conn in conns:
            with contextlib.suppress(OSError):  # a client the server closed stays closed
                conn.send(SLOW_REQUEST[at % len(SLOW_REQUEST):][:1])
        at += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--idle", type=int, default=300)
    parser.add_argument("--slow", type=int, default=20)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    with RedisServer() as redis_server, bot_stack(redis_server.url) as stack:
        port = stack.bot.http.port
        _help(stack, 5, "warm")
        quiet = _help(stack, args.requests, "quiet")
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(args.idle)]
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(args.slow)]
        stop = threading.Event()
        trickler = threading.Thread(target=_trickle, args=(slow, stop, 0.5), daemon=True)
        trickler.start()
        try:
            time.sleep(1.0)  # every slow client has started its request
            crowd = _help(stack, args.requests, "crowd")
            open_now = sum(_still_open(c) for c in idle + slow)
        finally:
            stop.set()
            trickler.join()
            for conn in idle + slow:
                conn.close()
    print(f"/gpu help, {args.requests} signed requests each, sequential, loopback")
    print(f"{'':52} {'median ms':>10} {'p99 ms':>8} {'max ms':>8}")
    for label, (acks, answers) in (("quiet", quiet), (f"{args.idle} idle + {args.slow} slow-loris", crowd)):
        for what, values in (("ack", acks), ("answer at response_url", answers)):
            print(f"{label + ' · ' + what:52} {statistics.median(values):10.2f} {_pct(values, 99):8.2f} "
                  f"{max(values):8.2f}")
    print(f"connections of the crowd still open at the end: {open_now} of {args.idle + args.slow}")
    worst = max(crowd[1])
    print(f"worst answer with the crowd connected: {worst:.0f} ms (target < 1000 ms)")


def _still_open(conn: socket.socket) -> bool:
    conn.setblocking(False)
    try:
        return conn.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True  # nothing to read and not closed
    except OSError:
        return False
    finally:
        conn.setblocking(True)


if __name__ == "__main__":
    main()
