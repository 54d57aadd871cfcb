"""The stop use case and the outside-failure replies on in-memory ports: what the person is told is true."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.domain import messages as msg
from bot.domain.actions import Launch, Stop
from bot.domain.errors import PermanentBackendError, Rejected, TransientBackendError
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import load_policy
from bot.domain.policy.judge import identify
from bot.domain.scheduling.model import NodeFacts
from bot.services.commands import backend_text
from bot.services.jobs import JobsService
from bot.services.launch import LaunchService
from bot.services.runtime import Runtime
from tests.services.fakes import FakeCluster, fake_runtime

POLICY = load_policy(Path(__file__).resolve().parents[1] / "chatops.example.yaml")
NODES = [NodeFacts("h100-0", "h100", 8)]
OWNER = "URES0001"
NS = "ml-research"


@dataclass
class FlakyCluster(FakeCluster):
    """Deletes fail with ``fail``; ``meanwhile`` runs inside the delete (a racing writer)."""

    fail: TransientBackendError | None = None
    meanwhile: object = None

    def delete_job(self, namespace: str, name: str, *, kind: str = "job") -> bool:
        if callable(self.meanwhile):
            self.meanwhile()
        if self.fail is not None:
            raise self.fail
        return super().delete_job(namespace, name)


def _running(names: list[str]) -> tuple[Runtime, JobsService, FlakyCluster]:
    rt, _, _ = fake_runtime(POLICY, nodes=NODES)
    cluster = FlakyCluster(list(NODES))
    rt.cluster = cluster
    launches = LaunchService(rt)
    for name in names:
        launches.preview(Launch(name=name, image="ghcr.io/acme/train:1.4", gpus=1, gpu_type="h100"), OWNER,
                         "CRESEARCH1", f"tok-{name}")
        launches.confirm(f"tok-{name}", OWNER)
        assert rt.store.transition(NS, name, ["queued"], "running", created_at=1.0) is not None
        cluster.created[f"{NS}/{name}"] = []
    return rt, JobsService(rt), cluster


def _record(rt: Runtime, name: str) -> JobRecord:
    record = rt.store.get(NS, name)
    assert record is not None
    return record


def test_the_stop_wins_over_a_disappearance_seen_while_it_deletes() -> None:
    rt, jobs, cluster = _running(["raced"])

    def safety_net() -> None:  # the dispatcher saw the Job missing and called it gone, as before the fix
        rt.store.transition(NS, "raced", ["running"], "failed", reason=msg.MENDED_GONE, finished_at=2.0)

    cluster.meanwhile = safety_net
    reply = jobs.request_stop(Stop(jobs=("raced",)), OWNER, "req-1")
    assert reply.text == msg.stopped(["raced"]) == "Stopped `raced`."
    assert _record(rt, "raced").state == "stopped"


def test_a_stop_records_its_intent_before_the_delete() -> None:
    rt, jobs, cluster = _running(["intent"])
    seen: list[str | None] = []
    cluster.meanwhile = lambda: seen.append(_record(rt, "intent").stopped_by)
    jobs.request_stop(Stop(jobs=("intent",)), OWNER, "req-2")
    assert seen == [OWNER]  # the safety net (or another replica) can tell this stop from an outside delete


def test_an_ambiguous_delete_keeps_the_intent_and_says_so() -> None:
    rt, jobs, cluster = _running(["unsure"])
    cluster.fail = TransientBackendError("kubernetes", "HTTP 500", status=500, ambiguous=True)
    with pytest.raises(TransientBackendError) as err:
        jobs.request_stop(Stop(jobs=("unsure",)), OWNER, "req-3")
    assert backend_text(err.value) == msg.outcome_unknown("kubernetes", "/gpu list")
    assert _record(rt, "unsure").stopped_by == OWNER and _record(rt, "unsure").state == "running"


def test_a_delete_the_cluster_did_not_take_leaves_the_job_as_it_was() -> None:
    rt, jobs, cluster = _running(["kept"])
    cluster.fail = TransientBackendError("kubernetes", "HTTP 503", status=503)
    with pytest.raises(TransientBackendError) as err:
        jobs.request_stop(Stop(jobs=("kept",)), OWNER, "req-4")
    assert backend_text(err.value) == msg.cluster_busy()
    assert _record(rt, "kept").stopped_by is None and _record(rt, "kept").state == "running"


def test_a_stop_of_several_names_each_outcome() -> None:
    rt, jobs, _ = _running(["one", "two"])
    assert rt.store.transition(NS, "two", ["running"], "succeeded", finished_at=3.0) is not None
    text = jobs.stop([_record(rt, "one"), _record(rt, "two")], identify(POLICY, OWNER))
    assert text.splitlines() == [msg.stopped(["one"]), msg.already_finished("two", "succeeded", 3.0, rt.clock())]


def test_the_stop_reply_is_never_nameless() -> None:
    assert msg.stopped([]) == msg.stop_cancelled()
    assert "Stopped ." not in msg.stopped([], ["x"], ["y"])


@pytest.mark.parametrize(("err", "expected"), [
    # the system comes from the error, never from its text ("Kubernetes" in a Redis error is just words)
    (TransientBackendError("redis", "Kubernetes-looking text"), msg.backend_unavailable("redis")),
    (TransientBackendError("kubernetes", "x", status=429, retry_after=1), msg.cluster_busy()),
    (TransientBackendError("kubernetes", "x", status=502), msg.cluster_busy()),
    (TransientBackendError("kubernetes", "connection reset"), msg.backend_unavailable("kubernetes")),
    (TransientBackendError("kubernetes", "x", status=500, ambiguous=True),
     msg.outcome_unknown("kubernetes", "/gpu list")),
    (PermanentBackendError("kubernetes", "x", status=401), msg.backend_refused("kubernetes", "HTTP 401")),
    (Rejected("kubernetes", "forbidden", status=403), msg.backend_refused("kubernetes", "HTTP 403")),
    (TransientBackendError("llm", "timeout"), msg.backend_unavailable("llm")),
])
def test_outside_failures_are_told_by_system_and_kind(err: TransientBackendError, expected: str) -> None:
    assert backend_text(err) == expected


def test_a_stop_repeated_after_it_happened_says_so() -> None:
    _, jobs, _ = _running(["twice"])
    assert jobs.request_stop(Stop(jobs=("twice",)), OWNER, "req-5").text == msg.stopped(["twice"])
    again = jobs.request_stop(Stop(jobs=("twice",)), OWNER, "req-6").text
    assert again.startswith("`twice` already") and again.endswith("nothing to stop.")  # not "No job matches"
