"""A finished job's name may be used again (as sbatch allows): the old record stays in lists and
history, a late retry of its own submission still finds it, and a name held by an unfinished job
stays taken. In the store (real redis-server and the embedded one) and through Slack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.adapters.redis.queue_store import QueueStore
from bot.domain.jobs import JobRecord
from bot.render import replies as rendering
from tests.support.botstack import bot_stack, text_of
from tests.support.waiting import wait
from tests.support.watching import IMAGE, OWNER, launch, wait_card


@pytest.fixture(params=["redis", "fakeredis"])
def store(request: pytest.FixtureRequest) -> Iterator[QueueStore]:
    s = QueueStore.from_url(request.getfixturevalue("redis_url")) if request.param == "redis" else QueueStore.embedded()
    yield s
    s.client.close()


def _rec(key: str) -> JobRecord:
    return JobRecord(name="train", namespace="ml-a", team="a", owner="U1", image="i", gpus=1, gpu_type="h100",
                     idempotency_key=key)


def test_a_finished_name_is_free_the_old_record_stays(store: QueueStore) -> None:
    store.submit(_rec("k1"))
    assert store.submit(_rec("k2")).conflict, "taken while the first has not finished"
    assert store.name_taken("ml-a", "train")
    store.transition("ml-a", "train", ["queued"], "succeeded", finished_at=10.0)
    assert not store.name_taken("ml-a", "train")
    assert store.free_name("ml-a", "train") == "train"
    again = store.submit(_rec("k2"))
    assert again.created and not again.conflict
    current = store.get("ml-a", "train")
    assert current is not None and current.idempotency_key == "k2" and current.state == "queued"
    assert [(r.idempotency_key, r.state) for r in store.find("train")] == [("k2", "queued"), ("k1", "succeeded")]
    assert [r.idempotency_key for r in store.list(owner="U1")] == ["k2", "k1"]
    assert [r.idempotency_key for r in store.list(states=["succeeded"])] == ["k1"]
    assert [r.name for r in store.queued()] == ["train"] and store.position("ml-a", "train") == 1
    assert [s for s, _ in store.history("ml-a", "train")] == ["queued"], "the new job's own history"
    # exactly once: a late retry of the first submission finds the first job, launches nothing
    retry = store.submit(_rec("k1"))
    assert not retry.created and retry.record.idempotency_key == "k1" and retry.record.state == "succeeded"
    old = store.get_by_idempotency_key("k1")
    assert old is not None and old.state == "succeeded"
    assert len(store.find("train")) == 2
    # a second reuse archives the second one too
    store.transition("ml-a", "train", ["queued"], "failed", finished_at=20.0)
    assert store.submit(_rec("k3")).created
    assert [r.idempotency_key for r in store.find("train")] == ["k3", "k2", "k1"]


def test_a_finished_name_is_launched_again_through_slack(redis_url: str) -> None:
    with bot_stack(redis_url, speed=600.0) as bs:
        store = bs.bot.runtime.store
        first = f"launch again --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=2m"
        name = launch(bs, first)
        wait_card(bs, name, "Succeeded")
        old = store.get("ml-research", name)
        assert old is not None
        preview = bs.ask(f"launch again --image {IMAGE} --gpus 8 --gpu-type h100 --env SIM_DURATION=3h", OWNER)
        assert rendering.LAUNCH_CONFIRM in text_of(preview), text_of(preview)
        assert launch(bs, f"launch again --image {IMAGE} --gpus 4 --gpu-type h100 --env SIM_DURATION=3h") == name
        wait(lambda: (r := store.get("ml-research", name)) is not None and r.state == "running", timeout=30,
             what="the new job running under the old name")
        new = store.get("ml-research", name)
        assert new is not None and new.idempotency_key != old.idempotency_key and new.gpus == 4
        jobs = bs.bot.runtime.cluster.managed_jobs()
        assert jobs[f"ml-research/{name}"].idempotency_key == new.idempotency_key
        listed = text_of(bs.ask("list --all", OWNER))
        assert listed.count("`again`") == 2 and "succeeded" in listed and "running" in listed
        assert "running" in text_of(bs.ask(f"status {name}", OWNER))
        # the first confirmation, clicked again, launches nothing
        _, rid = bs.click(rendering.LAUNCH_CONFIRM, old.idempotency_key, OWNER)
        assert "Submitted" in text_of(bs.answer(rid))
        assert len(store.find(name)) == 2
        assert store.get("ml-research", name).idempotency_key == new.idempotency_key  # type: ignore[union-attr]
