"""A SIGKILL of `chatops run` after the job was stored and before its card reached Slack: the card is
owed durably, so the next process posts it, once (before: the job ran with no card and no thread
replies, and a second click was told "its card is in #…"). Part of `make test` (about 20 s)."""

from __future__ import annotations

from pathlib import Path

from bot.adapters.redis.queue_store import QueueStore
from tests.chaos.harness import IMAGE, Launch, rig
from tests.support.waiting import wait


def test_a_card_owed_when_the_bot_died_is_posted_once_by_the_next(tmp_path: Path) -> None:
    with rig(tmp_path, error_rate=0.0, throttle_rate=0.0, drop_rate=0.0, slack_429_every=0) as r:
        r.start()
        launch = Launch("owed", "URES0001", "CRESEARCH1")
        assert r.preview(launch, f"launch owed --image {IMAGE} --gpus 2 --gpu-type h100 --time 1h "
                                 "--env SIM_DURATION=1h")
        assert launch.token is not None
        # Slack keeps the channel busy for a while: the card waits for its turn when the bot dies
        r.slack.fail_next(1, status=429, retry_after=6, method="chat.postMessage")
        r.click(launch, attempts=1)
        store = QueueStore.from_url(r.redis.url)
        wait(lambda: store.get_by_idempotency_key(launch.token or ""), 10, "the job stored")
        wait(lambda: r.slack.calls("chat.postMessage", status=429), 10, "the card post refused for now")
        r.crash_bot()
        r.click(launch)  # the person clicks again: told it was submitted
        assert launch.submitted, launch.told
        record = wait(lambda: rec if (rec := store.get_by_idempotency_key(launch.token or "")) and rec.card_ts
                      else None, 40, "the card posted by the new process")
        r.slack.wait_until(lambda _calls: bool(r.cards("owed")) and "running" in
                           str(r.cards("owed")[0][1].get("text")), 30)
        assert [ts for ts, _m in r.cards("owed")] == [record.card_ts]  # one card, the one on the record
        store.client.close()
