"""Approvals through the real ``chatops run`` stack: a launch the policy's ``approvals`` match waits for an
approver in the team channel; approve → exactly one Job; deny (a reason via the modal); expiry; the
requester cannot approve themselves; audit entries for each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.redis.audit_store import AuditStore
from bot.render import replies as rendering
from bot.render.approvals import APPROVAL_APPROVE, APPROVAL_DENY, APPROVAL_DENY_VIEW, REASON_BLOCK, REASON_INPUT
from bot.sim.slack.web_api import Call
from tests.support.botstack import BotStack, bot_stack, button_value, text_of
from tests.support.org_requests import org_policy, setup_groups, view_submission
from tests.support.waiting import wait

REQUESTER = "URES0001"
BIG = "launch big-run --image ghcr.io/acme/train:1.4 --gpus 16 --nodes 2 --gpu-type h100 --time 2h"


def _stack(redis_url: str, tmp: Path, **policy: Any) -> Iterator[BotStack]:
    with bot_stack(redis_url, policy_file=org_policy(tmp, **policy), slack_setup=setup_groups) as s:
        yield s


@pytest.fixture
def stack(redis_url: str, tmp_path: Path) -> Iterator[BotStack]:
    yield from _stack(redis_url, tmp_path)


def _jobs(stack: BotStack) -> list[str]:
    from kubernetes import client

    api = client.BatchV1Api(stack.sim.api_client())
    resp = api.list_namespaced_job("ml-research", _preload_content=False)
    return [j["metadata"]["name"] for j in json.loads(resp.data)["items"]]


def _approval_card(stack: BotStack) -> Call:
    return stack.slack.wait_for(lambda c: c.method == "chat.postMessage" and APPROVAL_APPROVE in text_of(c.args))


def _ask(stack: BotStack) -> str:
    """Preview and [Launch]: the approval card's token."""
    preview = stack.ask(BIG, REQUESTER)
    shown = text_of(preview)
    assert "Needs approval" in shown and "more than 8 GPUs" in shown and "<@UADMIN01>" in shown
    assert "<@ULEAD001>" in shown  # @gpu-leads, resolved
    _, rid = stack.click(rendering.LAUNCH_CONFIRM, button_value(preview, rendering.LAUNCH_CONFIRM), REQUESTER)
    assert "Asked for approval of `big-run`" in stack.answer(rid)["text"]
    card = _approval_card(stack)
    assert card.args["channel"] == "CRESEARCH1"
    assert "<@URES0001> asks to launch `big-run`" in text_of(card.args) and "16 × h100" in text_of(card.args)
    return button_value({"blocks": card.args["blocks"]}, APPROVAL_APPROVE)


def _click(stack: BotStack, action: str, token: str, user: str) -> str:
    _, rid = stack.click(action, token, user)
    return text_of(stack.answer(rid))


def _audit(stack: BotStack) -> list[tuple[str, str, str]]:
    store = AuditStore(stack.bot.runtime.store.client, stack.policy.redis_prefix)
    return [(e.action, e.user, e.result) for e in store.since(0)]


def _dm(stack: BotStack, user: str, text: str) -> Call:
    return stack.slack.wait_for(lambda c: c.method == "chat.postMessage" and c.args.get("channel") == user
                                and text in text_of(c.args))


def test_approved_by_an_approver_submits_exactly_once(stack: BotStack) -> None:
    token = _ask(stack)
    assert not _jobs(stack), "nothing runs before the approval"
    assert "cannot approve it yourself" in _click(stack, APPROVAL_APPROVE, token, REQUESTER)
    assert "Only the approvers" in _click(stack, APPROVAL_APPROVE, token, "URES0002")
    assert "approved by <@ULEAD001>" in _click(stack, APPROVAL_APPROVE, token, "ULEAD001")
    assert wait(lambda: _jobs(stack), what="the Job") == ["big-run"]
    assert "already approved by <@ULEAD001>" in _click(stack, APPROVAL_APPROVE, token, "UADMIN01")
    _dm(stack, REQUESTER, "<@ULEAD001> approved `big-run`")
    stack.slack.wait_for(lambda c: c.method == "chat.update" and "was approved by <@ULEAD001>" in text_of(c.args))
    stack.slack.wait_for(lambda c: c.method in ("chat.postMessage", "chat.update")
                         and "Approved by <@ULEAD001>" in text_of(c.args))  # the job card says so
    assert _jobs(stack) == ["big-run"]
    record = stack.bot.runtime.store.get("ml-research", "big-run")
    assert record is not None and record.approved_by == "ULEAD001" and record.owner == REQUESTER
    trail = _audit(stack)
    actions = [a for a, _, _ in trail]
    assert actions.count("launch.approval_requested") == 1 and actions.count("launch.submitted") == 1
    assert ("launch.approved", REQUESTER, "refused: the requester cannot approve their own launch") in trail
    assert any(a == "launch.approved" and u == "ULEAD001" and r.startswith("ok") for a, u, r in trail)


def test_a_second_launch_click_asks_once(stack: BotStack) -> None:
    preview = stack.ask(BIG, REQUESTER)
    token = button_value(preview, rendering.LAUNCH_CONFIRM)
    for _ in range(2):
        _, rid = stack.click(rendering.LAUNCH_CONFIRM, token, REQUESTER)
        assert "Asked for approval" in stack.answer(rid)["text"]
    _approval_card(stack)
    cards = [c for c in stack.slack.calls("chat.postMessage") if APPROVAL_APPROVE in text_of(c.args)]
    assert len(cards) == 1


def test_denied_with_a_reason_from_the_modal(stack: BotStack) -> None:
    token = _ask(stack)
    stack.click(APPROVAL_DENY, token, "ULEAD002")
    modal = stack.slack.wait_for("views.open")
    assert modal.args["view"]["callback_id"] == APPROVAL_DENY_VIEW
    assert modal.args["view"]["private_metadata"] == token
    status, answer = view_submission(stack, "URES0001", APPROVAL_DENY_VIEW, token,
                                     {REASON_BLOCK: {REASON_INPUT: {"type": "plain_text_input", "value": "x"}}})
    assert status == 200 and answer["response_action"] == "errors"  # the requester cannot deny either
    values = {REASON_BLOCK: {REASON_INPUT: {"type": "plain_text_input", "value": "use 8 GPUs first"}}}
    status, answer = view_submission(stack, "ULEAD002", APPROVAL_DENY_VIEW, token, values)
    assert status == 200 and answer == {}
    _dm(stack, REQUESTER, "denied `big-run`: use 8 GPUs first")
    stack.slack.wait_for(lambda c: c.method == "chat.update" and "denied by <@ULEAD002>" in text_of(c.args))
    assert "already denied by <@ULEAD002>" in _click(stack, APPROVAL_APPROVE, token, "ULEAD001")
    assert not _jobs(stack)
    assert any(a == "launch.denied" and u == "ULEAD002" and "use 8 GPUs first" in r for a, u, r in _audit(stack))


def test_a_request_nobody_answers_expires(redis_url: str, tmp_path: Path) -> None:
    for stack in _stack(redis_url, tmp_path, approval_ttl=2):
        token = _ask(stack)
        _dm(stack, REQUESTER, "Nobody approved `big-run` within 2s")
        stack.slack.wait_for(lambda c: c.method == "chat.update" and "expired unanswered" in text_of(c.args))
        assert "no longer open" in _click(stack, APPROVAL_APPROVE, token, "ULEAD001")
        assert not _jobs(stack)
        assert any(a == "launch.expired" for a, _, _ in _audit(stack))


def test_an_extension_over_the_rule_is_approved_then_applied_once(redis_url: str, tmp_path: Path) -> None:
    """`/gpu extend` past the policy's `extend_over`: the approval card, a lead's yes, the Job's deadline."""
    from tests.support.watching import launch, wait_card

    rules = [{"when": {"extend_over": "8h"}, "approvers": ["@gpu-leads"]}]
    for stack in _stack(redis_url, tmp_path, approvals=rules):
        name = launch(stack, "launch ext --image ghcr.io/acme/train:1.4 --gpus 1 --gpu-type h100 --time 2h "
                             "--env SIM_DURATION=1h", REQUESTER)
        wait_card(stack, name, "Running")
        told = text_of(stack.ask(f"extend {name} 10h", REQUESTER))
        assert "needs approval" in told and "<@ULEAD001>" in told
        card = _approval_card(stack)
        assert card.args["channel"] == "CRESEARCH1" and "asks to extend `ext` by 10h" in text_of(card.args)
        token = button_value({"blocks": card.args["blocks"]}, APPROVAL_APPROVE)
        _, rid = stack.click(APPROVAL_APPROVE, token, REQUESTER)
        assert "cannot approve it yourself" in text_of(stack.answer(rid))
        for clicker in ("ULEAD001", "ULEAD001"):  # a double click: applied once
            _, rid = stack.click(APPROVAL_APPROVE, token, clicker)
            assert "approved by <@ULEAD001> and applied" in text_of(stack.answer(rid))
        r = stack.bot.runtime.store.get("ml-research", name)
        assert r is not None and r.time_limit_s == 12 * 3600

        def deadline(stack: BotStack = stack, name: str = name) -> int | None:
            from kubernetes import client

            job = json.loads(client.BatchV1Api(stack.sim.api_client()).read_namespaced_job(
                name, "ml-research", _preload_content=False).data)
            return int(job["spec"].get("activeDeadlineSeconds") or 0) or None

        assert wait(lambda: deadline() == 12 * 3600, 10, "the Job's new deadline")
        trail = [e.action for e in AuditStore(stack.bot.runtime.store.client, "chatops:").since(0)]
        assert trail.count("extend") == 1 and "extend.approval_requested" in trail and "extend.approved" in trail
