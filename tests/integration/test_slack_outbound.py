"""The outbound layer against the fake Slack Web API: pacing per channel, coalescing of card updates,
429 Retry-After honoured, transient errors retried, nothing final dropped; and the whole bot in a
burst of job transitions while Slack answers 429."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.adapters.slack.outbound import Outbound
from bot.adapters.slack.web import SlackCards, make_client
from bot.render.replies import text_reply
from bot.sim.slack.web_api import Call, FakeSlack
from tests.support.botstack import bot_stack
from tests.support.watching import IMAGE, launch, wait_card

EPS = 0.02  # arrival jitter of the local HTTP server


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


def cards(fake: FakeSlack) -> Iterator[SlackCards]:
    client: WebClient = make_client("xoxb-test", fake.url)
    c = SlackCards(client)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def slack_cards(fake: FakeSlack) -> Iterator[SlackCards]:
    yield from cards(fake)


def gaps(calls: list[Call]) -> list[float]:
    times = sorted(c.time for c in calls)
    return [b - a for a, b in itertools.pairwise(times)]


def assert_paced(fake: FakeSlack) -> None:
    """Every chat.postMessage request (answered or refused) at least 1 s after the previous one in its channel."""
    by_channel: dict[str, list[Call]] = {}
    for c in fake.calls("chat.postMessage"):
        by_channel.setdefault(str(c.args.get("channel")), []).append(c)
    for channel, calls in by_channel.items():
        assert all(g >= 1.0 - EPS for g in gaps(calls)), (channel, gaps(calls))


def test_posts_are_paced_per_channel_and_return_ts(fake: FakeSlack, slack_cards: SlackCards) -> None:
    for i in range(3):
        slack_cards.reply_in_thread("C2", "1.0", text_reply(f"reply {i}"))
    ts = [slack_cards.post("C1", text_reply(f"card {i}")) for i in range(3)]
    assert all(ts) and len(set(ts)) == 3
    assert slack_cards.flush(10)
    assert len(fake.calls("chat.postMessage")) == 6
    assert_paced(fake)
    c2 = [c.time for c in fake.calls("chat.postMessage") if c.args["channel"] == "C2"]
    c1 = [c.time for c in fake.calls("chat.postMessage") if c.args["channel"] == "C1"]
    assert min(c2) < max(c1), "channels are paced independently"


def test_a_waiting_thread_reply_gives_way_to_the_newest_of_its_thread(
    fake: FakeSlack, slack_cards: SlackCards
) -> None:
    assert slack_cards.post("C3", text_reply("card a"))  # takes the channel's turn: what follows waits
    slack_cards.reply_in_thread("C3", "1.0", text_reply("a started"), newest_only=True)
    slack_cards.reply_in_thread("C3", "2.0", text_reply("b started"), newest_only=True)
    slack_cards.reply_in_thread("C3", "1.0", text_reply("a succeeded"), newest_only=True)
    slack_cards.reply_in_thread("C3", "1.0", text_reply("alert about a"))  # not a notice: never replaced
    assert slack_cards.flush(10)
    sent = [(c.args.get("thread_ts"), c.args["text"]) for c in fake.calls("chat.postMessage")][1:]
    # a's final reply took the place of its stale one; b's reply and the alert are kept, in order
    assert sent == [("1.0", "a succeeded"), ("2.0", "b started"), ("1.0", "alert about a")]
    assert_paced(fake)


def test_updates_coalesce_to_the_newest(fake: FakeSlack, slack_cards: SlackCards) -> None:
    ts = slack_cards.post("C1", text_reply("v0"))
    assert ts
    for i in range(1, 51):
        slack_cards.update("C1", ts, text_reply(f"v{i}"))
    assert slack_cards.flush(10)
    updates = fake.calls("chat.update")
    assert 1 <= len(updates) <= 3, len(updates)
    assert fake.messages[("C1", ts)]["text"] == "v50"
    assert slack_cards.outbound.stats.coalesced >= 47


def test_429_retry_after_is_honoured_and_final_state_kept(fake: FakeSlack, slack_cards: SlackCards) -> None:
    ts = slack_cards.post("C1", text_reply("queued"))
    assert ts
    fake.fail_next(2, status=429, retry_after=1, method="chat.update")
    slack_cards.update("C1", ts, text_reply("running"))
    fake.wait_for(lambda c: c.method == "chat.update" and c.status == 429)
    slack_cards.update("C1", ts, text_reply("succeeded"))
    assert slack_cards.flush(15)
    calls = fake.calls("chat.update")
    assert [c.status for c in calls][:2] == [429, 429]
    assert calls[-1].status == 200 and fake.messages[("C1", ts)]["text"] == "succeeded"
    assert all(g >= 1.0 - EPS for g in gaps(calls[:3])), "waited Retry-After between tries"
    assert slack_cards.outbound.stats.rate_limited == 2


def test_429_on_posts_keeps_pacing(fake: FakeSlack, slack_cards: SlackCards) -> None:
    fake.fail_next(1, status=429, retry_after=2, method="chat.postMessage", channel="C1")
    for i in range(3):
        slack_cards.reply_in_thread("C1", "1.0", text_reply(f"r{i}"))
    assert slack_cards.flush(15)
    calls = fake.calls("chat.postMessage")
    assert [c.status for c in calls] == [429, 200, 200, 200]
    assert calls[1].time - calls[0].time >= 2.0 - EPS
    assert_paced(fake)


def test_server_errors_are_retried_permanent_errors_are_not(fake: FakeSlack, slack_cards: SlackCards) -> None:
    fake.fail_next(2, status=500, method="chat.postMessage")
    assert slack_cards.post("C1", text_reply("hello")) is not None
    slack_cards.update("C1", "9.999", text_reply("no such message"))
    assert slack_cards.flush(10)
    assert len([c for c in fake.calls("chat.update")]) == 1, "message_not_found is not retried"
    assert slack_cards.outbound.stats.retried == 2
    assert slack_cards.outbound.stats.dropped == 1


def test_views_coalesce_per_user_and_file_upload(fake: FakeSlack, slack_cards: SlackCards) -> None:
    for i in range(10):
        slack_cards.publish_view("U1", {"type": "home", "blocks": [], "callback_id": f"v{i}"})
    assert slack_cards.upload("C9", "x.txt", "line\n" * 5000, "logs")
    assert slack_cards.flush(10)
    views = fake.calls("views.publish")
    assert 1 <= len(views) <= 2 and views[-1].args["view"]["callback_id"] == "v9"
    assert len(fake.uploads) == 1


def test_outbound_without_client_retry_handlers(fake: FakeSlack) -> None:
    client = make_client("xoxb-test", fake.url)
    assert client.retry_handlers == [], "the outbound layer owns retries; the client must not sleep"
    out = Outbound(client, workers=1)
    out.close()


def test_burst_with_429_loses_no_final_state_and_keeps_pacing(redis_url: str) -> None:
    with bot_stack(redis_url, speed=600.0) as stack:
        stack.slack.fail_next(6, status=429, retry_after=1, method="chat.update")
        names = [launch(stack, f"launch burst{i} --image {IMAGE} --gpus 2 --gpu-type h100 --env SIM_DURATION=2m")
                 for i in range(5)]
        for name in names:
            wait_card(stack, name, "Succeeded", timeout=40)
        assert len(stack.slack.calls("chat.update", status=429)) == 6
        assert stack.bot.runtime.cards.flush(30)
        assert_paced(stack.slack)


def test_a_card_post_is_never_retried_blindly(fake: FakeSlack, slack_cards: SlackCards) -> None:
    """A 500 may mean Slack posted it: the card post says "unsure" (its owner looks before posting
    again); a 429 means Slack applied nothing, so it waits and is retried; metadata goes with it."""
    meta = {"event_type": "chatops_job_card", "event_payload": {"job": "ml/x", "idem": "k"}}
    fake.fail_next(1, status=500, method="chat.postMessage")
    out = slack_cards.post_card("C1", text_reply("x"), meta, lambda: True)
    assert out.unsure and out.ts is None and len(fake.calls("chat.postMessage")) == 1
    fake.fail_next(1, status=429, retry_after=1, method="chat.postMessage")
    out = slack_cards.post_card("C1", text_reply("x"), meta, lambda: True)
    assert out.ts is not None and not out.unsure
    assert slack_cards.find_card("C1", meta) == out.ts
    assert slack_cards.find_card("C1", {**meta, "event_payload": {"job": "ml/other", "idem": "k"}}) is None
