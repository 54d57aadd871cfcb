"""`/gpu extend` under the policy's approvals: a rule with ``extend_over`` / ``over_max_time`` sends the
extension to an approver (the card in the team channel), and an approval applies it exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.adapters.redis.audit_store import AuditStore
from bot.domain.actions import Extend
from bot.domain.errors import ConfigError, ForbiddenError, PolicyError
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import Policy, parse_policy
from bot.domain.scheduling.model import NodeFacts
from bot.services.commands import CommandService
from bot.services.runtime import Runtime
from tests.services.fakes import FakeChat, fake_runtime

POLICY = Path(__file__).resolve().parents[1] / "chatops.example.yaml"
NS, OWNER, LEAD = "ml-research", "URES0001", "UADMIN01"
H = 3600


def policy(**changes: Any) -> Policy:
    data = yaml.safe_load(POLICY.read_text())
    data["limits"]["max_time_limit"] = "2d"
    # first match wins: past the cap first (an approver may allow it), then any long extension
    data["approvals"] = [{"when": {"over_max_time": True}, "approvers": [LEAD]},
                         {"when": {"extend_over": "8h"}, "approvers": [LEAD]}]
    data.update(changes)
    return parse_policy(data)


def setup(p: Policy | None = None) -> tuple[Runtime, FakeChat, CommandService, list[float]]:
    now = [10_000.0]
    rt, chat, cluster = fake_runtime(p or policy(), nodes=[NodeFacts("h100-0", "h100", 8)], clock=lambda: now[0])
    r = JobRecord(name="train", namespace=NS, team="research", owner=OWNER, image="ghcr.io/acme/train:1.4", gpus=8,
                  gpu_type="h100", time_limit_s=24 * H, submitted_at=now[0], idempotency_key="k-train",
                  channel="CRESEARCH1")
    assert rt.store.submit(r).created
    rt.store.transition(NS, "train", ["queued"], "running", started_at=now[0], created_at=now[0])
    cluster.created[f"{NS}/train"] = [{"metadata": {"name": "train", "namespace": NS},
                                       "spec": {"activeDeadlineSeconds": 24 * H}}]
    return rt, chat, CommandService(rt), now


def limit(rt: Runtime) -> int:
    r = rt.store.get(NS, "train")
    assert r is not None
    return r.time_limit_s


def token_of(rt: Runtime, chat: FakeChat) -> str:
    """The one open request (its card posted once in the team channel)."""
    posted = [s for s in chat.sent if s.method == "post" and "asks to extend" in s.text]
    assert len(posted) == 1 and posted[0].channel == "CRESEARCH1", chat.texts()
    (token,) = rt.approvals.due(rt.clock() + 10 * rt.policy.approval_ttl)
    return token


def test_a_small_extension_is_applied_at_once() -> None:
    rt, chat, commands, _ = setup()
    text = commands.control.extend(Extend(job="train", by_s=2 * H), OWNER)
    assert "train" in text and limit(rt) == 26 * H
    assert not [s for s in chat.sent if "asks to extend" in s.text]


def test_an_extension_over_the_rule_asks_and_an_approval_applies_it_once() -> None:
    rt, chat, commands, _ = setup()
    text = commands.control.extend(Extend(job="train", by_s=10 * H), OWNER)
    assert "needs approval" in text and limit(rt) == 24 * H  # nothing changed yet
    again = commands.control.extend(Extend(job="train", by_s=10 * H), OWNER)  # a double click: one card
    assert again == text
    token = token_of(rt, chat)
    with pytest.raises(ForbiddenError, match="cannot approve it yourself"):
        commands.approvals.approve(token, OWNER)
    commands.approvals.approve(token, LEAD)
    assert limit(rt) == 34 * H
    commands.approvals.approve(token, LEAD)  # a retry of the click: the same answer, applied once, not twice
    assert limit(rt) == 34 * H
    commands.approvals.finish_unfinished(grace_s=0)  # the sweep after a crash finds nothing to do again
    assert limit(rt) == 34 * H
    assert sum("approved extending `train` by 10h" in t for t in chat.texts("dm")) == 1
    trail = [(e.action, e.user) for e in AuditStore(rt.store.client, rt.policy.redis_prefix).since(0)]
    assert trail == [("extend.approval_requested", OWNER), ("extend.approved", OWNER), ("extend.approved", LEAD),
                     ("extend", OWNER)]


def test_beyond_the_max_an_approver_may_allow_what_would_be_refused() -> None:
    rt, chat, commands, _ = setup()
    commands.control.extend(Extend(job="train", by_s=30 * H), OWNER)  # 54h > 2d: the over_max_time rule
    commands.approvals.approve(token_of(rt, chat), LEAD)
    assert limit(rt) == 54 * H
    plain, _, plain_commands, _ = setup(policy(approvals=[]))
    with pytest.raises(PolicyError, match="2d"):  # without the rule: refused, as before
        plain_commands.control.extend(Extend(job="train", by_s=30 * H), OWNER)
    assert limit(plain) == 24 * H


def test_a_denial_and_an_expiry_change_nothing_and_say_why() -> None:
    rt, chat, commands, _ = setup()
    commands.control.extend(Extend(job="train", by_s=10 * H), OWNER)
    commands.approvals.deny(token_of(rt, chat), LEAD, "not this week")
    assert limit(rt) == 24 * H
    assert any("denied extending `train`: not this week" in t for t in chat.texts("dm"))
    rt2, chat2, commands2, now2 = setup()
    commands2.control.extend(Extend(job="train", by_s=12 * H), OWNER)
    now2[0] += rt2.policy.approval_ttl + 1
    assert commands2.approvals.expire_due() == 1
    assert limit(rt2) == 24 * H
    assert any("Nobody approved extending `train`" in t for t in chat2.texts("dm"))


def test_an_extension_rule_may_not_name_over_quota() -> None:
    with pytest.raises(ConfigError, match="over_quota is about launches"):
        policy(approvals=[{"when": {"extend_over": "8h", "over_quota": True}, "approvers": [LEAD]}])
