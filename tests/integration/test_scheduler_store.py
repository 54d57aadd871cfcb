"""The queue store's additions for the scheduler: fenced writes, fair-share usage, the queue with seq."""

from __future__ import annotations

import pytest

from bot.adapters.redis.queue_store import QueueStore
from bot.domain.errors import LeaseLost
from bot.domain.jobs import JobRecord
from bot.domain.scheduling.fair_share import Usage


@pytest.fixture
def store(redis_url: str) -> QueueStore:
    return QueueStore.from_url(redis_url)


def rec(name: str) -> JobRecord:
    return JobRecord(name=name, namespace="ns", team="a", owner="U1", image="i", gpus=1, gpu_type="h100",
                     idempotency_key=f"k-{name}")


def test_fenced_transition_needs_the_lease(store: QueueStore) -> None:
    store.submit(rec("j"))
    assert store.acquire_lease("dispatcher", "me", 30) is not None
    moved = store.transition("ns", "j", ["queued"], "admitted", lease=("dispatcher", "me"))
    assert moved is not None and moved.state == "admitted"
    with pytest.raises(LeaseLost):
        store.transition("ns", "j", ["admitted"], "running", lease=("dispatcher", "someone-else"))
    with pytest.raises(LeaseLost):
        store.update("ns", "j", lease=("dispatcher", "someone-else"), reason="x")
    after = store.get("ns", "j")
    assert after is not None and after.state == "admitted" and after.reason is None  # untouched
    store.release_lease("dispatcher", "me")
    with pytest.raises(LeaseLost):
        store.transition("ns", "j", ["admitted"], "running", lease=("dispatcher", "me"))


def test_usage_round_trip_and_fencing(store: QueueStore) -> None:
    assert store.load_usage() == {}
    store.save_usage({"a": Usage(12.5, 1000.25), "b": Usage(0.0, None)})
    assert store.load_usage() == {"a": Usage(12.5, 1000.25), "b": Usage(0.0, None)}
    with pytest.raises(LeaseLost):
        store.save_usage({"a": Usage(1.0, 2.0)}, lease=("dispatcher", "nobody"))
    assert store.load_usage()["a"] == Usage(12.5, 1000.25)


def test_queued_with_seq_keeps_the_submit_sequence_across_preemption(store: QueueStore) -> None:
    for name in ("a", "b", "c"):
        store.submit(rec(name))
    store.transition("ns", "a", ["queued"], "running")
    assert [(r.name, seq) for r, seq in store.queued_with_seq()] == [("b", 2), ("c", 3)]
    store.transition("ns", "a", ["running"], "queued", preemptions=1)
    assert [(r.name, seq) for r, seq in store.queued_with_seq()] == [("a", 1), ("b", 2), ("c", 3)]
