"""The dispatcher's queue in memory: after every pass it is the queue in Redis, though a pass reads only
what changed (submits, holds, releases, stops, requeues, admissions by the pass itself)."""

from __future__ import annotations

from bot.domain.actions import Hold, Release, Requeue
from bot.domain.scheduling.queue_index import QueueIndex
from bot.services.dispatcher import Dispatcher
from bot.services.queue_book import QueueBook
from bot.services.runtime import Runtime
from tests.services.test_job_control import NS, OWNER, _get, _setup, _start, _submit


def _as_stored(rt: Runtime) -> dict[str, object]:
    fresh = QueueBook(rt.store)
    fresh.refresh(None)  # a whole read of the queue
    return _entries(fresh.index)


def _entries(index: QueueIndex) -> dict[str, object]:
    return {k: (e.job, e.reason, e.eta, e.making_room) for k, e in index.entries.items()}


def test_the_kept_queue_is_the_stored_queue_after_every_pass() -> None:
    rt, _, cluster, control, clock = _setup()  # one node of 8 H100s
    d = Dispatcher(rt)
    names = [f"j{i}" for i in range(8)]
    for n in names:
        _submit(rt, n, gpus=4)
    steps = [
        lambda: None,
        lambda: control.hold(Hold(jobs=("j5",)), OWNER),
        lambda: _submit(rt, "late", gpus=2, priority="high"),
        lambda: control.release(Release(jobs=("j5",)), OWNER),
        lambda: rt.store.transition(NS, "j6", ["queued"], "stopped", stopped_by=OWNER),
        lambda: _start(rt, cluster, "j0"),
        lambda: control.requeue(Requeue(jobs=("j0",)), OWNER),
    ]
    reads = []
    for step in steps:
        step()
        clock.now += 60
        d.run_pass()
        assert _entries(d.book.index) == _as_stored(rt)
        reads.append(d.book.refresh(d.fence))  # nothing changed since the pass but its own writes
    assert d.book.reloads == 1, "the queue was read whole once, at the first pass"
    assert _get(rt, "j5").state == "queued" and "ml-research/j5" in d.book.index


def test_a_pass_reads_the_submits_since_the_last_and_the_feed_is_trimmed() -> None:
    rt, _, _, _, _ = _setup()
    d = Dispatcher(rt)
    for i in range(30):
        _submit(rt, f"a{i}", gpus=8)
    for _ in range(2):  # the second pass reads back what the first wrote (reasons, estimates, cards' ts)
        d.run_pass()
        assert rt.desk.settle(10)
    assert d.book.reloads == 1
    _submit(rt, "b", gpus=8)
    mark = d.book.mark
    assert mark is not None
    got = rt.store.queue_changes(mark)
    assert got is not None and [k for k, _, _ in got[1]] == [f"{NS}/b"]
    result = d.run_pass()
    assert f"{NS}/b" in d.book.index and d.book.reloads == 1
    left = {k.decode() for k in rt.store.client.zrange(rt.store.prefix + "qchg", 0, -1)}
    assert left <= set(result.updated), "what was read is trimmed; what the pass wrote is for the next"
