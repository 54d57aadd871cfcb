"""The audit trail through the real stack: changes recorded with who, team, what, target, result and
request id; `/gpu audit` for admins only (ephemeral, paged); caps by length and age on real Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from bot.adapters.redis.audit_store import AuditStore
from bot.domain.audit import AuditEntry
from bot.render import replies as rendering
from bot.render.audit import AUDIT_OLDER
from tests.support.botstack import BotStack, bot_stack, button_value, text_of
from tests.support.waiting import wait

OWNER, ADMIN = "URES0001", "UADMIN01"
LAUNCH = "launch audited --image ghcr.io/acme/train:1.4 --gpus 1 --gpu-type h100 --time 1h"


@pytest.fixture
def stack(redis_url: str) -> Iterator[BotStack]:
    with bot_stack(redis_url) as s:
        yield s


def _trail(stack: BotStack) -> list[AuditEntry]:
    return list(AuditStore(stack.bot.runtime.store.client, stack.policy.redis_prefix).since(0))


def test_launch_and_stop_are_in_the_trail_and_admins_read_it(stack: BotStack) -> None:
    preview = stack.ask(LAUNCH, OWNER)
    _, rid = stack.click(rendering.LAUNCH_CONFIRM, button_value(preview, rendering.LAUNCH_CONFIRM), OWNER)
    assert "Submitted `audited`" in stack.answer(rid)["text"]
    assert "Stopped" in text_of(stack.ask("stop audited", OWNER))
    trail = wait(lambda: t if len(t := _trail(stack)) >= 2 else None, what="two entries")
    launch, stop = trail[0], trail[1]
    assert (launch.action, launch.user, launch.team, launch.target) == ("launch.submitted", OWNER, "research",
                                                                        "ml-research/audited")
    assert launch.result.startswith("ok") and launch.request_id  # the click's trigger_id
    assert (stop.action, stop.user, stop.target) == ("stop", OWNER, "ml-research/audited")
    assert stop.result.startswith("ok") and stop.request_id and stop.request_id != launch.request_id
    shown = stack.ask("audit --days 1", ADMIN)
    assert shown["response_type"] == "ephemeral"
    body = text_of(shown)
    assert "launch.submitted" in body and "*stop*" in body and "ml-research/audited" in body
    assert body.index("*stop*") < body.index("launch.submitted")  # newest first
    assert stop.request_id in body
    refused = text_of(stack.ask("audit", OWNER))
    assert "for admins only" in refused and "<@UADMIN01>" in refused
    assert "No audit entries by <@URES0002>" in text_of(stack.ask("audit --user <@URES0002|ann>", ADMIN))
    assert "ml-research/audited" in text_of(stack.ask(f"audit --user {OWNER}", ADMIN))


def test_the_trail_is_paged(stack: BotStack) -> None:
    store = AuditStore(stack.bot.runtime.store.client, stack.policy.redis_prefix)
    now = time.time()
    for i in range(40):
        store.append(AuditEntry(now, "URES0002", "research", "stop", f"ml-research/job-{i:02d}", "ok"))
    first = stack.ask("audit", ADMIN)
    assert "job-39" in text_of(first) and "job-25" in text_of(first) and "job-24" not in text_of(first)
    _, rid = stack.click(AUDIT_OLDER, button_value(first, AUDIT_OLDER), ADMIN)
    second = stack.answer(rid)
    assert "job-24" in text_of(second) and "job-10" in text_of(second) and "job-09" not in text_of(second)
    _, rid = stack.click(AUDIT_OLDER, button_value(second, AUDIT_OLDER), ADMIN)
    third = stack.answer(rid)
    assert "job-09" in text_of(third) and "job-00" in text_of(third) and AUDIT_OLDER not in text_of(third)
    _, rid = stack.click(AUDIT_OLDER, button_value(first, AUDIT_OLDER), OWNER)  # a forwarded button
    assert "for admins only" in text_of(stack.answer(rid))


def test_the_trail_is_capped_by_length_and_by_age(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    store = AuditStore(client, "cap:", caps=lambda: (50, 30 * 86400))
    old_ms = int((time.time() - 40 * 86400) * 1000)
    for i in range(5):  # written 40 days ago (IDs are times)
        client.xadd("cap:audit", {"time": str(old_ms / 1000), "action": "stop", "target": f"old-{i}"},
                    id=f"{old_ms}-{i}")
    store.append(AuditEntry(time.time(), "U1", "t", "stop", "new-0", "ok"))
    assert [e.target for e in store.since(0)] == ["new-0"], "older than max_age is gone"
    for i in range(1, 120):
        store.append(AuditEntry(time.time(), "U1", "t", "stop", f"new-{i}", "ok"))
    kept = [e.target for e in store.since(0)]
    assert len(kept) == 50 and kept[0] == "new-70" and kept[-1] == "new-119"


def test_a_preemption_is_in_the_trail(redis_url: str) -> None:
    from bot.sim.cluster import NodeSpec
    from tests.support.botstack import H100
    from tests.support.watching import IMAGE, launch, wait_card

    long = "--env SIM_DURATION=3h --time 6h"
    with bot_stack(redis_url, nodes=[NodeSpec(f"h100-{i}", 8, H100) for i in range(4)]) as bs:
        wait_card(bs, launch(bs, f"launch inside --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 {long}"),
                  "Running")
        borrow = launch(bs, f"launch borrower --image {IMAGE} --gpus 16 --nodes 2 --gpu-type h100 {long}")
        wait_card(bs, borrow, "Running", "over quota · preemptible")
        owed = launch(bs, f"launch owed --image {IMAGE} --gpus 8 --gpu-type h100 {long}", user="UVIS0001")
        wait_card(bs, owed, "Running")
        entry = wait(lambda: next((e for e in _trail(bs) if e.action == "preemption"), None), what="the entry")
        assert entry.target == f"ml-research/{borrow}" and entry.team == "research" and entry.user == ""
        assert entry.result == f"ok: requeued for ml-vision/{owed}"
