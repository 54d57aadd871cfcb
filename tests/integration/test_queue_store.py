"""QueueStore against a real redis-server (and the core behaviour again on the embedded fakeredis)."""

from __future__ import annotations

import dataclasses
import itertools
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot.adapters.redis.queue_store import QueueStore
from bot.domain.errors import PermanentBackendError, TransientBackendError
from bot.domain.jobs import JobRecord
from tests.support.redis_server import RedisServer, free_port
from tests.support.waiting import wait as wait_until

_ids = itertools.count(1)


def rec(name: str, *, ns: str = "ml-a", team: str = "a", owner: str = "U1", **kw: Any) -> JobRecord:
    kw.setdefault("idempotency_key", f"key-{next(_ids)}")
    kw.setdefault("submitted_at", 1_700_000_000.0 + next(_ids) + 0.123456)
    kw.setdefault("gpus", 1)
    return JobRecord(
        name=name, namespace=ns, team=team, owner=owner, image="ghcr.io/acme/train:1", gpu_type="h100", **kw
    )


@pytest.fixture(params=["redis", "fakeredis"])
def store(request: pytest.FixtureRequest) -> Iterator[QueueStore]:
    if request.param == "redis":
        s = QueueStore.from_url(request.getfixturevalue("redis_url"))
    else:
        s = QueueStore.embedded()
    yield s
    s.client.close()


@pytest.fixture
def real_store(redis_url: str) -> Iterator[QueueStore]:
    s = QueueStore.from_url(redis_url)
    yield s
    s.client.close()


# --- submit ---------------------------------------------------------------------------------------


def test_submit_is_idempotent(store: QueueStore) -> None:
    r = rec("train", idempotency_key="slack-retry-1")
    first = store.submit(r)
    again = store.submit(dataclasses.replace(r, gpus=8))  # a retry carries the same key
    assert (first.created, first.conflict) == (True, False)
    assert (again.created, again.conflict) == (False, False)
    assert again.record == first.record == r
    assert store.queued() == [r]
    assert store.get_by_idempotency_key("slack-retry-1") == r
    assert store.get_by_idempotency_key("nope") is None
    assert store.history("ml-a", "train") == [("queued", r.submitted_at)]


def test_submit_needs_an_idempotency_key(store: QueueStore) -> None:
    with pytest.raises(ValueError):
        store.submit(rec("x", idempotency_key=""))


def test_name_conflict_returns_the_existing_job(store: QueueStore) -> None:
    first = rec("train", idempotency_key="k1")
    store.submit(first)
    clash = store.submit(rec("train", idempotency_key="k2", owner="U2"))
    assert (clash.created, clash.conflict) == (False, True)
    assert clash.record == first
    assert store.get_by_idempotency_key("k2") is None
    other_ns = store.submit(rec("train", ns="ml-b", idempotency_key="k3"))
    assert other_ns.created
    assert store.name_taken("ml-a", "train") and not store.name_taken("ml-c", "train")


def test_fifo_order_and_position(store: QueueStore) -> None:
    names = [f"job-{i}" for i in range(5)]
    for n in names:
        store.submit(rec(n, ns="ml-b" if n == "job-3" else "ml-a"))
    assert [r.name for r in store.queued()] == names
    assert store.position("ml-a", "job-0") == 1
    assert store.position("ml-b", "job-3") == 4
    assert store.position("ml-a", "missing") is None


# --- transitions ------------------------------------------------------------------------------------


def test_transition_is_compare_and_set(store: QueueStore) -> None:
    store.submit(rec("train"))
    moved = store.transition("ml-a", "train", {"queued"}, "admitted", admitted_at=5.5, reason=None)
    assert moved is not None and moved.state == "admitted" and moved.admitted_at == 5.5
    assert store.get("ml-a", "train") == moved
    assert store.transition("ml-a", "train", {"queued"}, "admitted") is None
    assert store.transition("ml-a", "nope", {"queued"}, "admitted") is None
    assert store.queued() == [] and store.position("ml-a", "train") is None
    with pytest.raises(ValueError):
        store.transition("ml-a", "train", {"admitted"}, "running", bogus=1)
    with pytest.raises(ValueError):
        store.transition("ml-a", "train", {"admitted"}, "running", state="failed")
    with pytest.raises(ValueError):
        store.transition("ml-a", "train", {"admitted"}, "exploded")
    assert store.get("ml-a", "train") == moved


def test_back_to_queue_keeps_its_place(store: QueueStore) -> None:
    for n in ("a", "b", "c"):
        store.submit(rec(n))
    assert store.transition("ml-a", "b", {"queued"}, "admitted")
    assert store.position("ml-a", "c") == 2
    assert store.transition("ml-a", "b", {"admitted", "running"}, "queued", reason="preempted")
    assert [r.name for r in store.queued()] == ["a", "b", "c"]
    assert store.position("ml-a", "b") == 2
    store.submit(rec("d"))
    assert store.position("ml-a", "d") == 4


def test_update_sets_fields_and_keeps_values_exact(store: QueueStore) -> None:
    r = rec("train", command=[], env={}, submitted_at=1_732_900_000.123456)
    store.submit(r)
    up = store.update("ml-a", "train", card_ts="1712.000100", channel="C1")
    assert up == dataclasses.replace(r, card_ts="1712.000100", channel="C1")
    got = store.get("ml-a", "train")
    assert got == up and got is not None
    assert got.command == [] and got.env == {} and got.submitted_at == 1_732_900_000.123456
    assert store.history("ml-a", "train") == [("queued", r.submitted_at)]  # update is not a transition
    assert store.update("ml-a", "missing", reason="x") is None
    for bad in ({"state": "running"}, {"owner": "U9"}, {"nope": 1}):
        with pytest.raises(ValueError):
            store.update("ml-a", "train", **bad)


def test_history_records_each_transition_with_its_time(store: QueueStore) -> None:
    times = iter([100.25, 200.5, 300.75])
    s = QueueStore(store.client, store.prefix, clock=lambda: next(times))
    r = rec("train", submitted_at=50.125)
    s.submit(r)
    s.transition("ml-a", "train", {"queued"}, "admitted")
    s.transition("ml-a", "train", {"admitted"}, "running", started_at=200.5)
    s.transition("ml-a", "train", {"running"}, "succeeded")
    assert s.history("ml-a", "train") == [
        ("queued", 50.125), ("admitted", 100.25), ("running", 200.5), ("succeeded", 300.75),
    ]  # fmt: skip
    assert s.history("ml-a", "missing") == []


# --- queries ----------------------------------------------------------------------------------------


def test_list_filters_newest_first(store: QueueStore) -> None:
    spec = [("a1", "U1", "a"), ("a2", "U2", "a"), ("b1", "U3", "b"), ("b2", "U1", "b"), ("c1", "U4", "c")]
    for name, owner, team in spec:
        store.submit(rec(name, owner=owner, team=team, ns=f"ml-{team}"))
    store.transition("ml-a", "a2", {"queued"}, "running")
    store.transition("ml-b", "b2", {"queued"}, "failed")

    def names(**kw: Any) -> list[str]:
        return [r.name for r in store.list(**kw)]

    assert names() == ["c1", "b2", "b1", "a2", "a1"]
    assert names(limit=2) == ["c1", "b2"]
    assert names(owner="U1") == ["b2", "a1"]
    assert names(team="b") == ["b2", "b1"]
    assert names(states={"queued"}) == ["c1", "b1", "a1"]
    assert names(states=["running", "failed"]) == ["b2", "a2"]
    assert names(states={"queued", "failed"}, limit=2) == ["c1", "b2"]
    assert names(owner="U1", states={"queued"}) == ["a1"]
    assert names(owner="U1", team="b") == ["b2"]
    assert names(states=set()) == []
    assert names(owner="nobody") == []


def test_find_across_namespaces(store: QueueStore) -> None:
    store.submit(rec("train", ns="ml-a"))
    store.submit(rec("train", ns="ml-b"))
    store.submit(rec("other", ns="ml-a"))
    assert [r.namespace for r in store.find("train")] == ["ml-b", "ml-a"]
    assert [r.namespace for r in store.find("train", ["ml-a", "ml-z"])] == ["ml-a"]
    assert store.find("missing") == []


def test_free_name(store: QueueStore) -> None:
    assert store.free_name("ml-a", "train") == "train"
    store.submit(rec("train"))
    store.submit(rec("train-2"))
    assert store.free_name("ml-a", "train") == "train-3"
    assert store.free_name("ml-b", "train") == "train"
    long = "x" * 52
    store.submit(rec(long))
    assert store.free_name("ml-a", long) == "x" * 50 + "-2"
    for i in range(1, 60):  # past the first batch of candidates
        store.submit(rec("busy" if i == 1 else f"busy-{i}"))
    assert store.free_name("ml-a", "busy") == "busy-60"


def test_prefixes_are_isolated(store: QueueStore) -> None:
    other = QueueStore(store.client, prefix="other:")
    store.submit(rec("train", idempotency_key="same"))
    assert other.get("ml-a", "train") is None and other.queued() == [] and other.list() == []
    assert other.get_by_idempotency_key("same") is None
    assert other.submit(rec("train", idempotency_key="same")).created
    assert other.acquire_lease("dispatcher", "x", 5) == 1
    assert store.acquire_lease("dispatcher", "y", 5) == 1
    keys: Any = store.client.keys("*")
    assert keys and all(k.startswith((b"chatops:", b"other:")) for k in keys)


def test_leases_and_fencing_tokens(store: QueueStore) -> None:
    t1 = store.acquire_lease("dispatcher", "bot-a", 0.3)
    assert t1 is not None
    assert store.acquire_lease("dispatcher", "bot-b", 0.3) is None
    assert store.renew_lease("dispatcher", "bot-a", 0.3)
    assert not store.renew_lease("dispatcher", "bot-b", 0.3)
    store.release_lease("dispatcher", "bot-b")  # not the holder: no effect
    assert store.acquire_lease("dispatcher", "bot-b", 30) is None
    t2 = wait_until(lambda: store.acquire_lease("dispatcher", "bot-b", 30))  # a's lease expires
    assert t2 > t1
    assert not store.renew_lease("dispatcher", "bot-a", 30)
    store.release_lease("dispatcher", "bot-b")
    t3 = store.acquire_lease("dispatcher", "bot-a", 30)
    assert t3 is not None and t3 > t2
    with pytest.raises(ValueError):
        store.acquire_lease("dispatcher", "bot-a", 0)


# --- concurrency --------------------------------------------------------------------------------------


def _race(n: int, fn: Callable[[int], Any]) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = fn(i)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    return results


def test_racing_admits_exactly_one_wins(store: QueueStore) -> None:
    for j in range(10):
        store.submit(rec(f"job-{j}"))

        def admit(i: int, j: int = j) -> JobRecord | None:
            return store.transition("ml-a", f"job-{j}", {"queued"}, "admitted", reason=f"t{i}")

        results = _race(8, admit)
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        assert store.get("ml-a", f"job-{j}") == winners[0]
        assert [s for s, _ in store.history("ml-a", f"job-{j}")] == ["queued", "admitted"]
    assert store.queued() == []


def test_racing_submits_make_one_job(store: QueueStore) -> None:
    same_key = _race(8, lambda i: store.submit(rec("dbl", idempotency_key="click", gpus=i + 1)))
    assert sum(r.created for r in same_key) == 1 and not any(r.conflict for r in same_key)
    assert len({r.record.gpus for r in same_key}) == 1
    same_name = _race(8, lambda i: store.submit(rec("clash")))
    assert sum(r.created for r in same_name) == 1 and sum(r.conflict for r in same_name) == 7
    assert len(store.list()) == 2


# --- a real Redis: crashes and failures ---------------------------------------------------------------


def test_acknowledged_submits_survive_kill_9() -> None:
    with RedisServer() as server:
        s = QueueStore.from_url(server.url)
        acked = [s.submit(rec(f"job-{i}", team="abc"[i % 3])).record for i in range(300)]
        s.transition("ml-a", "job-7", {"queued"}, "running")
        s.acquire_lease("dispatcher", "bot-a", 60)
        pid = server.pid
        server.restart(crash=True)  # SIGKILL: nothing gets flushed on the way down
        assert server.pid != pid
        after = QueueStore.from_url(server.url)
        for r in acked:
            got = after.get(r.namespace, r.name)
            assert got is not None and got.idempotency_key == r.idempotency_key
        assert [r.name for r in after.queued()] == [r.name for r in acked if r.name != "job-7"]
        assert after.get("ml-a", "job-7").state == "running"  # type: ignore[union-attr]
        assert after.acquire_lease("dispatcher", "bot-b", 60) is None
        assert not after.submit(acked[0]).created  # the idempotency map survived too
        assert after.submit(rec("new")).created and after.position("ml-a", "new") == 300
        assert s.get("ml-a", "new") is not None  # the old client reconnects by itself
        assert s.submit(rec("newer")).created  # and reloads its scripts (EVALSHA -> NOSCRIPT -> LOAD)
        s.client.close()
        after.client.close()


def test_connection_refused_is_transient_and_hides_the_password() -> None:
    s = QueueStore.from_url(f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0")
    with pytest.raises(TransientBackendError) as err:
        s.submit(rec("train"))
    assert isinstance(err.value.__cause__, redis.ConnectionError)
    assert err.value.retryable
    assert "hunter2-secret" not in str(err.value) and "hunter2-secret" not in repr(err.value.__cause__)
    with pytest.raises(TransientBackendError):
        s.get("ml-a", "train")
    assert s.ping() is False


def test_timeout_is_transient() -> None:
    with socket.socket() as silent:  # accepts connections (kernel backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        client = redis.Redis(
            port=silent.getsockname()[1],
            socket_timeout=0.2,
            socket_connect_timeout=0.2,
            retry=Retry(NoBackoff(), 0),
        )
        with pytest.raises(TransientBackendError) as err:
            QueueStore(client).get("ml-a", "train")
        assert isinstance(err.value.__cause__, redis.TimeoutError)


def test_wrong_password_is_permanent_and_hidden() -> None:
    with RedisServer(password="right-pass") as server:
        assert QueueStore.from_url(server.url).ping()
        bad = QueueStore.from_url(f"redis://:wrong-pass@127.0.0.1:{server.port}/0")
        with pytest.raises(PermanentBackendError) as err:
            bad.list()
        assert "wrong-pass" not in str(err.value)
        with pytest.raises(PermanentBackendError):
            bad.ping()


def test_invalid_url_is_permanent_and_hidden() -> None:
    with pytest.raises(PermanentBackendError) as err:
        QueueStore.from_url("http://:pw-in-url@host/0")
    assert "pw-in-url" not in str(err.value)


def test_ping(real_store: QueueStore) -> None:
    assert real_store.ping() is True


def test_works_with_a_decoding_client(redis_url: str) -> None:
    s = QueueStore(redis.Redis.from_url(redis_url, decode_responses=True))
    r = rec("train", idempotency_key="k")
    assert s.submit(r).created and not s.submit(r).created
    assert s.get_by_idempotency_key("k") == r and s.find("train") == [r] and s.queued() == [r]
    assert s.transition("ml-a", "train", {"queued"}, "running") is not None
    assert s.list(states={"running"})[0].name == "train"
    assert [st for st, _ in s.history("ml-a", "train")] == ["queued", "running"]
    s.client.close()


def test_records_stored_in_the_long_form_still_archive_and_expire(store: QueueStore) -> None:
    import json  # the form records had before the compact one: every field, by its full name

    old = rec("train", state="succeeded", finished_at=1_000.0)
    store.submit(old)
    store.client.set(store.prefix + "job:ml-a/train", json.dumps(dataclasses.asdict(old)))
    names: Any = [k for k in store.client.keys(store.prefix + "names:*") if store.client.hexists(k, "train")]
    store.client.delete(*names)  # its name in the zset of before the name buckets
    store.client.zadd(store.prefix + "idx:name:train", {"ml-a/train": 1})
    assert store.get("ml-a", "train") == old and store.find("train") == [old]
    assert store.submit(rec("train")).created  # its name is free again: the old one is archived
    assert [r.state for r in store.find("train")] == ["queued", "succeeded"]
    assert store.forget_finished(before=2_000.0) == 1
    assert [r.state for r in store.find("train")] == ["queued"]


def test_queued_jobs_list_by_state_from_the_queue_and_the_parked(store: QueueStore) -> None:
    a, held, b = rec("a"), rec("held", held_by="U1"), rec("b")
    for r in (a, held, b):
        store.submit(r)
    store.transition("ml-a", "a", ["queued"], "admitted")
    assert [r.name for r in store.list(states={"queued"})] == ["b", "held"]
    assert [r.name for r in store.list(states={"queued", "admitted"})] == ["b", "held", "a"]


def test_an_idempotency_key_stored_before_the_buckets_still_finds_its_job(store: QueueStore) -> None:
    r = rec("train", idempotency_key="slack-old-1")
    store.submit(r)
    bucket: Any = [k for k in store.client.keys(store.prefix + "idem:*") if store.client.hexists(k, "slack-old-1")]
    assert len(bucket) == 1  # written in its bucket, where the store reads it back
    store.client.delete(*bucket)
    store.client.hset(store.prefix + "idem", "slack-old-1", "ml-a/train")  # the one hash of before
    assert store.get_by_idempotency_key("slack-old-1") == r
    again = store.submit(dataclasses.replace(r, gpus=8))
    assert (again.created, again.conflict, again.record) == (False, False, r)
