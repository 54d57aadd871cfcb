"""The org use cases on in-memory ports: the directory's fallbacks (Redis cache, nothing known), silences in
the audit trail, approvals' one decision, and the audit view's refusal."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.redis.audit_store import AuditStore
from bot.adapters.redis.group_store import GroupStore
from bot.domain.actions import Audit, Launch
from bot.domain.alerts.payload import GroupState
from bot.domain.errors import ForbiddenError, PolicyError, TransientBackendError
from bot.domain.policy.config import load_policy
from bot.domain.policy.groups import GroupSnapshot, UserGroup
from bot.domain.policy.judge import identify
from bot.domain.scheduling.model import NodeFacts
from bot.services.alert_actions import AlertActions
from bot.services.commands import CommandService
from bot.services.directory import Directory
from bot.services.jobs import JobsService
from bot.services.launch import Pending
from tests.services.fakes import fake_runtime

ORG = load_policy(Path(__file__).resolve().parents[2] / "examples" / "org-policy.yaml")
NODES = [NodeFacts("h100-0", "h100", 8), NodeFacts("h100-1", "h100", 8)]
SNAP = GroupSnapshot((UserGroup("S0RESEARCH", "ml-research", ("URES0004",)),
                      UserGroup("S0LEADS", "gpu-leads", ("ULEAD001",))), fetched_at=1000.0)


class DownSlack:
    def fetch(self, named: Iterable[str]) -> GroupSnapshot:
        raise TransientBackendError("slack", "usergroups: URLError")


def test_slack_down_at_start_uses_the_membership_cached_in_redis(caplog: pytest.LogCaptureFixture) -> None:
    rt, _, _ = fake_runtime(ORG, clock=lambda: 1600.0)
    cache = GroupStore(rt.store.client, ORG.redis_prefix)
    cache.save(SNAP)  # what an earlier process (or the other replica) read
    with caplog.at_level(logging.WARNING):
        Directory(rt, DownSlack(), cache, ORG).refresh()
    assert identify(rt.policy, "URES0004").team == "research"
    assert "last known membership (from 600s ago) stays in use" in caplog.text


def test_slack_down_with_nothing_known_leaves_group_members_out_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    rt, _, _ = fake_runtime(ORG)
    with caplog.at_level(logging.WARNING):
        Directory(rt, DownSlack(), GroupStore(rt.store.client, ORG.redis_prefix), ORG).refresh()
    with pytest.raises(PolicyError):
        identify(rt.policy, "URES0004")
    assert identify(rt.policy, "URES0001").team == "research"  # listed by ID: unaffected
    assert "no membership is known yet" in caplog.text


class Silences:
    def create_silence(self, matchers: list[dict[str, object]], starts: float, ends: float, created_by: str,
                       comment: str) -> str:
        return "sil-1"

    def expire_silence(self, silence_id: str) -> None:
        pass

    def silence(self, silence_id: str) -> dict[str, Any]:
        return {}


def test_silences_created_and_expired_are_audited() -> None:
    rt, _, _ = fake_runtime(ORG)
    rt.alerts.update("g1", lambda cur: GroupState(gid="g1", group_key="{}:{alertname=\"GPUIdle\"}"))
    actions = AlertActions(rt, rt.alerts, Silences(), JobsService(rt), audit=rt.audit)
    actions.silence("g1", "URES0001", 4)
    actions.expire("g1", "URES0001")
    trail = [(e.action, e.user, e.team, e.target) for e in AuditStore(rt.store.client, ORG.redis_prefix).since(0)]
    assert trail == [("silence.created", "URES0001", "research", "sil-1"),
                     ("silence.expired", "URES0001", "research", "sil-1")]


def _pending(commands: CommandService) -> str:
    a = Launch(name="big", image="ghcr.io/acme/train:1.4", gpus=16, nodes=2, gpu_type="h100", time_limit_s=3600)
    commands.launches.preview(a, "URES0001", "CRESEARCH1", "tok-big")
    done = commands.launches.confirm("tok-big", "URES0001")
    assert isinstance(done, Pending) and done.need.approvers == ("UADMIN01", "ULEAD001")
    commands.approvals.ask(done)
    return "tok-big"


def test_an_approval_and_a_denial_racing_have_one_winner() -> None:
    rt, chat, _ = fake_runtime(ORG, nodes=NODES)
    GroupStore(rt.store.client, ORG.redis_prefix).save(SNAP)
    directory = Directory(rt, DownSlack(), GroupStore(rt.store.client, ORG.redis_prefix), ORG)
    directory.refresh()
    commands = CommandService(rt)
    token = _pending(commands)
    commands.approvals.deny(token, "ULEAD001", "not now")
    with pytest.raises(ForbiddenError, match="already denied by <@ULEAD001>"):
        commands.approvals.approve(token, "UADMIN01")
    assert rt.store.get("ml-research", "big") is None
    assert any("denied `big`: not now" in t for t in chat.texts("dm"))


def test_the_audit_view_refuses_non_admins_with_why() -> None:
    rt, _, _ = fake_runtime(ORG)
    with pytest.raises(PolicyError, match="for admins only"):
        CommandService(rt).audit.view(Audit(), "URES0001")


def test_an_approval_whose_submit_a_crash_interrupted_is_finished_by_the_sweep_once() -> None:
    now = [5000.0]
    rt, chat, _ = fake_runtime(ORG, nodes=NODES, clock=lambda: now[0])
    GroupStore(rt.store.client, ORG.redis_prefix).save(SNAP)
    Directory(rt, DownSlack(), GroupStore(rt.store.client, ORG.redis_prefix), ORG).refresh()
    commands = CommandService(rt)
    token = _pending(commands)
    # the approver's decision was stored, then the process died before the submit
    assert rt.approvals.decide(token, {"verdict": "approved", "by": "ULEAD001", "at": now[0]}, ORG.approval_ttl)
    assert commands.approvals.expire_due() == 0 and rt.store.get("ml-research", "big") is None  # within grace
    now[0] += 60
    commands.approvals.expire_due()
    commands.approvals.expire_due()
    record = rt.store.get("ml-research", "big")
    assert record is not None and record.approved_by == "ULEAD001"
    assert sum("approved `big`" in t for t in chat.texts("dm")) == 1
    assert rt.approvals.unfinished(now[0]) == []


def test_a_burst_of_membership_events_costs_two_refreshes_not_one_each() -> None:
    import threading

    rt, _, _ = fake_runtime(ORG)
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    class SlowSlack:
        def fetch(self, named: Iterable[str]) -> GroupSnapshot:
            calls.append(1)
            entered.set()
            release.wait(5)
            return SNAP

    directory = Directory(rt, SlowSlack(), GroupStore(rt.store.client, ORG.redis_prefix), ORG)
    first = threading.Thread(target=directory.changed)
    first.start()
    assert entered.wait(5)
    for _ in range(10):  # while the first refresh waits on Slack
        directory.changed()
    release.set()
    first.join(5)
    assert len(calls) == 2
    assert identify(rt.policy, "URES0004").team == "research"
