"""One chaos run: launches by several users at once (0.3 s apart, one channel) while a monkey SIGKILLs the bot
and Redis, the API server misbehaves and Slack answers 429s."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.domain.errors import TransientBackendError
from tests.chaos.checks import Figures, check
from tests.chaos.harness import IMAGE, Launch, Rig

# One busy channel: its card posts queue behind each other at Slack's 1 message/s (where cards went twice).
USERS = (("URES0001", "CRESEARCH1"), ("URES0002", "CRESEARCH1"), ("URES0003", "CRESEARCH1"),
         ("UVIS0001", "CRESEARCH1"))
SPACING_S = 0.3  # launches started about this far apart


def launch_under_fire(rig: Rig, n: int, *, bot_every_s: float, redis_kills: int, settle_s: float,
                      report: Path | None = None) -> Figures:
    started = time.monotonic()
    rig.start()
    t0 = time.monotonic()
    launches = [Launch(f"chaos-{i}", *USERS[i % len(USERS)]) for i in range(n)]

    def user(i: int) -> None:
        time.sleep(max(0.0, t0 + i * SPACING_S - time.monotonic()))
        launch = launches[i]
        text = f"launch {launch.name} --image {IMAGE} --gpus 2 --gpu-type h100 --time 1h --env SIM_DURATION=3m"
        if rig.preview(launch, text):
            rig.click(launch)

    stop = threading.Event()
    span = n * SPACING_S
    monkey = threading.Thread(target=rig.monkey, args=(stop,), daemon=True, kwargs={
        "bot_every_s": bot_every_s, "redis_at_s": [span * (k + 1) / (redis_kills + 1) for k in range(redis_kills)]})
    monkey.start()
    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(user, range(n)))
    finally:
        stop.set()
        monkey.join(90)
    launched_s = time.monotonic() - t0
    deadline = time.monotonic() + settle_s
    fig = _check(rig, launches, deadline)
    while fig.problems and time.monotonic() < deadline:
        time.sleep(2)  # a poll of the final state, not a wait for a race: the bot settles meanwhile
        fig = _check(rig, launches, deadline)
    figures = {
        "launches": fig.launches, "submitted": fig.submitted, "told_error": fig.told_error,
        "kubernetes_jobs": fig.jobs, "cards": fig.cards, "problems": fig.problems,
        "bot_sigkills": rig.kills, "bot_starts": rig.starts, "redis_sigkills": rig.redis_kills,
        "api_faults_injected": len(rig.proxy.injected),
        "api_faults_by_kind": {k: sum(1 for f in rig.proxy.injected if f.fault == k) for k in ("500", "429", "drop")},
        "slack_429s": len(rig.slack.calls(status=429)),
        "card_posts_accepted": len([c for c in rig.slack.calls("chat.postMessage", status=200)
                                    if not c.args.get("thread_ts") and "header" in str(c.args.get("blocks"))]),
        "history_lookups": len(rig.slack.calls("conversations.history")),
        "previews_sent": sum(x.previews for x in launches), "clicks_sent": sum(x.clicks for x in launches),
        "launch_phase_s": round(launched_s, 1), "total_s": round(time.monotonic() - started, 1),
    }
    print(json.dumps(figures, indent=2))
    if report is not None:
        report.write_text(json.dumps(figures, indent=2))
    return fig


def _check(rig: Rig, launches: list[Launch], deadline: float) -> Figures:
    """The check, read again when the checker's own Redis read times out (the machine under load, or
    Redis still replaying its AOF after a SIGKILL): a slow read is not a finding."""
    while True:
        try:
            return check(rig, launches)
        except TransientBackendError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1)
