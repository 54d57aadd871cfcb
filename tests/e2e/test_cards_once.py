"""Exactly one card per job: one post ever (a burst of launches in one channel, a crash mid-post, a
Slack that gives no clear answer), every later change an update; a dispatcher pass never waits on Slack.

Real parts: redis-server, the fake Slack Web API over HTTP (with message metadata and history), the
simulated cluster over HTTP."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from bot.adapters.kube.client import KubeCluster
from bot.adapters.redis.card_store import CardLedger
from bot.adapters.redis.queue_store import QueueStore
from bot.adapters.redis.stores import RedisStores
from bot.adapters.slack.web import SlackCards, make_client
from bot.app import runtime_of
from bot.domain.cards import CARD_EVENT, card_metadata
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import load_policy
from bot.render import replies as rendering
from bot.services.card_desk import CardDesk
from bot.services.dispatcher import Dispatcher
from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from bot.sim.slack.web_api import FakeSlack
from tests.support.botstack import POLICY_FILE, bot_stack
from tests.support.waiting import wait
from tests.support.watching import IMAGE, launch

H100 = "NVIDIA-H100-80GB-HBM3"
CHANNEL = "CRESEARCH1"
_ids = itertools.count(1)


def _is_card(message: dict[str, Any], key: str) -> bool:
    """A top-level message headed by the job's name (as a user sees it, metadata or not)."""
    blocks = message.get("blocks") or []
    header = blocks[0].get("text", {}).get("text") if blocks and blocks[0].get("type") == "header" else None
    return not message.get("thread_ts") and header == key.partition("/")[2]


def top_level_cards(slack: FakeSlack, key: str) -> list[str]:
    """The ts of every top-level message Slack holds that is the card of job ``key``."""
    return [ts for (_ch, ts), m in list(slack.messages.items()) if _is_card(m, key)]


def posts_of(slack: FakeSlack, key: str) -> int:
    """Card posts Slack accepted for ``key`` (a post answered with an error made no message)."""
    return sum(1 for c in slack.calls("chat.postMessage", status=200) if _is_card(c.args, key))


def test_a_burst_of_launches_in_one_channel_gets_one_card_each(redis_url: str) -> None:
    """Launches ~0.5 s apart in one channel: posts wait in the channel's lane (1/s) while the jobs are
    admitted and created; each job still gets one top-level card, showing its newest state."""
    with bot_stack(redis_url, nodes=[NodeSpec(f"h100-{i}", 8, H100) for i in range(4)]) as stack:
        names = []
        for i in range(8):
            t0 = time.monotonic()
            names.append(launch(stack, f"launch burst-{i} --image {IMAGE} --gpus 1 --gpu-type h100 --time 1h "
                                       "--env SIM_DURATION=2h"))
            time.sleep(max(0.0, 0.5 - (time.monotonic() - t0)))
        store = stack.bot.runtime.store

        def all_running_with_cards() -> list[JobRecord | None] | None:
            rs = [store.get("ml-research", n) for n in names]
            return rs if all(r is not None and r.card_ts and r.state == "running" for r in rs) else None

        records = wait(all_running_with_cards, timeout=40, what="every job running with its card")
        assert stack.bot.runtime.desk.settle(20)
        stack.bot.runtime.cards.flush(20)
        for r in records:
            assert r is not None
            assert top_level_cards(stack.slack, r.key) == [r.card_ts], r.key
            assert posts_of(stack.slack, r.key) == 1
            card = json.dumps(stack.slack.messages[(CHANNEL, str(r.card_ts))]["blocks"])
            assert "Running" in card, card[:400]


@dataclass
class Parts:
    store: QueueStore
    slack: FakeSlack
    cards: SlackCards
    url: str

    def desk(self) -> CardDesk:
        """A fresh process's desk (another holder) on the same Redis and Slack."""
        policy = load_policy(POLICY_FILE)
        return CardDesk(self.store, self.cards, policy, CardLedger(self.store.client, self.store.prefix))


@contextmanager
def parts(redis_url: str) -> Iterator[Parts]:
    with FakeSlack() as slack:
        cards = SlackCards(make_client("xoxb-test", slack.url))
        try:
            yield Parts(QueueStore(redis.Redis.from_url(redis_url)), slack, cards, redis_url)
        finally:
            cards.close(2)


def record(name: str) -> JobRecord:
    return JobRecord(name=name, namespace="ml-research", team="research", owner="URES0001", image=IMAGE, gpus=8,
                     gpu_type="h100", idempotency_key=f"idem-{name}-{next(_ids)}", channel=CHANNEL)


def test_an_owed_card_survives_the_process_that_owed_it(redis_url: str) -> None:
    """Owed before submit, then the process died: the next one's sweep posts it, once."""
    with parts(redis_url) as p:
        r = record("orphan")
        p.desk().owe(r)  # the click's process: owed, submitted, then killed before any post
        p.store.submit(r)
        assert p.slack.calls("chat.postMessage") == []
        heir = p.desk()
        assert heir.sweep() == 1 and heir.settle(10)
        stored = p.store.get("ml-research", "orphan")
        assert stored is not None and stored.card_ts is not None
        assert top_level_cards(p.slack, r.key) == [stored.card_ts] and posts_of(p.slack, r.key) == 1
        assert heir.sweep() == 0 and heir.ledger.all() == []  # settled: nothing owed any more


def test_a_post_that_reached_slack_before_a_crash_is_found_not_repeated(redis_url: str) -> None:
    with parts(redis_url) as p:
        r = record("half")
        dying = p.desk()
        dying.owe(r)
        p.store.submit(r)
        owed = dying.ledger.get(r.key)
        assert owed is not None
        # what the poster does, up to the post reaching Slack; then the process dies (no ts stored)
        dying.ledger.attempt(owed, time.time())
        shown_then = rendering.job_card(r, 1, time.time())
        posted = p.cards.post_card(CHANNEL, shown_then, card_metadata(r), lambda: True)
        assert posted.ts is not None and p.store.get("ml-research", "half").card_ts is None  # type: ignore[union-attr]
        heir = p.desk()
        heir.sweep()
        assert heir.settle(10)
        assert p.store.get("ml-research", "half").card_ts == posted.ts  # type: ignore[union-attr]
        assert posts_of(p.slack, r.key) == 1 and p.slack.calls("conversations.history")
        shown = p.slack.messages[(CHANNEL, str(posted.ts))]
        assert shown["metadata"]["event_type"] == CARD_EVENT
        assert "Queued" in json.dumps(shown["blocks"])


def test_no_clear_answer_from_slack_looks_before_posting_again(redis_url: str) -> None:
    """A 500 on the post: the desk does not retry blindly; it looks in the history, then posts once."""
    with parts(redis_url) as p:
        desk = p.desk()
        r = record("unsure")
        desk.owe(r)
        p.store.submit(r)
        p.slack.fail_next(1, status=500, method="chat.postMessage")
        desk.publish(r)
        assert desk.settle(10)
        assert p.store.get("ml-research", "unsure").card_ts is None  # type: ignore[union-attr]
        desk.sweep()
        assert desk.settle(10)
        assert p.store.get("ml-research", "unsure").card_ts is not None  # type: ignore[union-attr]
        assert posts_of(p.slack, r.key) == 1 and len(p.slack.calls("conversations.history")) == 1


def test_changes_while_the_card_waits_are_one_post_then_updates(redis_url: str) -> None:
    with parts(redis_url) as p:
        desk = p.desk()
        blockers = [record(f"lane-{i}") for i in range(3)]
        r = record("late")
        for x in [*blockers, r]:
            desk.owe(x)
            p.store.submit(x)
            desk.publish(x)
        for state in ("admitted", "running"):  # the dispatcher and the watcher move it on meanwhile
            moved = p.store.transition("ml-research", "late", [r.state if state == "admitted" else "admitted"], state)
            assert moved is not None
            desk.publish(moved)
        assert desk.settle(15)
        p.cards.flush(10)
        stored = p.store.get("ml-research", "late")
        assert stored is not None and posts_of(p.slack, r.key) == 1
        assert "Running" in json.dumps(p.slack.messages[(CHANNEL, str(stored.card_ts))]["blocks"])


def test_two_replicas_post_a_card_once(redis_url: str) -> None:
    with parts(redis_url) as p:
        a, b = p.desk(), p.desk()
        rs = [record(f"both-{i}") for i in range(4)]
        for r in rs:
            a.owe(r)
            p.store.submit(r)
        for r in rs:
            a.publish(r)
            b.publish(r)
        a.sweep()
        b.sweep()
        assert a.settle(20) and b.settle(20)
        for _ in range(3):  # what a claim held by the other replica left owed is taken up by a sweep
            if not a.ledger.all():
                break
            a.sweep()
            assert a.settle(20)
        assert all(posts_of(p.slack, r.key) == 1 for r in rs)


@pytest.mark.parametrize("admissions", [6])
def test_a_dispatch_pass_does_not_wait_on_slack(redis_url: str, admissions: int) -> None:
    """Before: every admission waited for its card's paced post (1.05 s per post in one channel)."""
    policy = load_policy(POLICY_FILE)
    sim = SimCluster([NodeSpec(f"h100-{i}", 8, H100) for i in range(admissions)], speed=60)
    with SimServer(sim) as srv, FakeSlack() as slack:
        kube = KubeCluster.from_url(srv.url, policy.gpu_types)
        stores = RedisStores.on(redis.Redis.from_url(redis_url), policy.redis_prefix)
        store = stores.queue
        chat = SlackCards(make_client("xoxb-t", slack.url))
        rt = runtime_of(policy, stores, kube, chat)
        try:
            rs = [record(f"pass-{i}") for i in range(admissions)]
            for r in rs:
                rt.desk.owe(r)
                store.submit(r)
            t0 = time.monotonic()
            result = Dispatcher(rt).run_pass()
            took = time.monotonic() - t0
            assert sorted(result.admitted) == sorted(r.key for r in rs)
            assert took < (admissions - 1) * 1.05, f"the pass took {took:.2f} s: it waited for card posts"
            assert rt.desk.settle(30)
            assert all(posts_of(slack, r.key) == 1 for r in rs)
        finally:
            chat.close(2)
            kube.close()


class _Dying:
    """The Slack side of a process about to be SIGKILLed: what it queues never leaves."""

    def update(self, *_: Any, **__: Any) -> bool:
        return True


def test_an_update_a_killed_process_had_queued_is_shown_by_the_next(redis_url: str) -> None:
    with parts(redis_url) as p:
        desk = p.desk()
        r = record("stale")
        desk.owe(r)
        p.store.submit(r)
        desk.publish(r)
        assert desk.settle(10)
        done = p.store.transition("ml-research", "stale", ["queued"], "succeeded", finished_at=time.time())
        assert done is not None and done.card_ts
        dying = CardDesk(p.store, _Dying(), load_policy(POLICY_FILE),  # type: ignore[arg-type]
                         CardLedger(p.store.client, p.store.prefix))
        dying.publish(done)  # queued in memory, then the process died
        heir = p.desk()
        assert heir.refresh(everything=True) == 1
        p.cards.flush(10)
        assert "Succeeded" in json.dumps(p.slack.messages[(CHANNEL, done.card_ts)]["blocks"])
        assert heir.ledger.dirties() == {}  # Slack has it: nothing left to show again
        assert posts_of(p.slack, r.key) == 1
