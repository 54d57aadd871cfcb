"""A short chaos run (`make chaos`, about 40 s, most of it a new process waiting out the dead one's
lease): eight launches 0.3 s apart while the bot is SIGKILLed every second, Slack answers every 4th
chat.* call 429, the API server answers 10 % 500s."""

from __future__ import annotations

from pathlib import Path

from tests.chaos.harness import rig
from tests.chaos.run import launch_under_fire


def test_chaos_smoke(tmp_path: Path) -> None:
    with rig(tmp_path, error_rate=0.1, throttle_rate=0.0, drop_rate=0.0) as r:
        fig = launch_under_fire(r, 8, bot_every_s=1.0, redis_kills=0, settle_s=60)
        assert not fig.problems, "\n".join(fig.problems) + "\n" + r.log.read_text()[-3000:]
        assert fig.submitted == 8 and r.kills >= 1
