"""The launch use case on in-memory ports: preview, confirm exactly once, refusals — no server."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.actions import Launch
from bot.domain.errors import ClusterFactError, ForbiddenError, ValidationError
from bot.domain.policy.config import load_policy
from bot.domain.scheduling.model import NodeFacts
from bot.services.launch import LaunchService
from tests.services.fakes import FakeChat, FakeCluster, fake_runtime

POLICY = load_policy(Path(__file__).resolve().parents[1] / "chatops.example.yaml")
NODES = [NodeFacts("h100-0", "h100", 8), NodeFacts("h100-1", "h100", 8)]


def _service() -> tuple[LaunchService, FakeChat, FakeCluster, list[int]]:
    rt, chat, cluster = fake_runtime(POLICY, nodes=NODES)
    woken: list[int] = []
    rt.wake_dispatcher.connect(lambda: woken.append(1))
    return LaunchService(rt), chat, cluster, woken


def _launch(**kw: object) -> Launch:
    base: dict[str, object] = {"name": "llama-ft", "image": "ghcr.io/acme/train:1.4", "gpus": 8, "gpu_type": "h100",
                               "time_limit_s": 3600}
    base.update(kw)
    return Launch(**base)  # type: ignore[arg-type]


def test_preview_then_two_confirms_submit_once_and_post_one_card() -> None:
    svc, chat, _, woken = _service()
    reply = svc.preview(_launch(), "URES0001", "CRESEARCH1", "tok-1")
    assert "llama-ft" in reply.text
    first = svc.confirm("tok-1", "URES0001")
    again = svc.confirm("tok-1", "URES0001")
    assert first.created and not again.created
    assert first.record.key == again.record.key == "ml-research/llama-ft"
    assert first.record.state == "queued" and first.record.owner == "URES0001"
    assert svc.rt.desk.settle(5)  # the card is posted by the card desk, after the submit returns
    assert len(chat.texts("post")) == 1  # one card for the job
    assert woken == [1]


def test_someone_else_cannot_confirm_a_preview() -> None:
    svc, _, _, _ = _service()
    svc.preview(_launch(), "URES0001", "CRESEARCH1", "tok-2")
    with pytest.raises(ForbiddenError):
        svc.confirm("tok-2", "UVIS0001")


def test_a_dry_run_rejection_is_a_refusal_with_the_command() -> None:
    svc, _, cluster, _ = _service()
    cluster.reject_dry_run = "admission webhook denied the request"
    with pytest.raises(ValidationError) as err:
        svc.preview(_launch(), "URES0001", "CRESEARCH1", "tok-3")
    assert "admission webhook" in err.value.why
    assert not cluster.created


def test_a_missing_team_namespace_is_a_refusal_naming_the_admin_fix() -> None:
    svc, _, cluster, _ = _service()
    cluster.missing_namespaces = {"ml-research"}
    with pytest.raises(ClusterFactError) as err:
        svc.preview(_launch(), "URES0001", "CRESEARCH1", "tok-4")
    assert "ask an admin to create namespace `ml-research`" in err.value.why
    assert err.value.fix is None  # no command of the user's would work
    assert not cluster.created
