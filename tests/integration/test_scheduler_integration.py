"""The dispatcher with real redis-server and the simulated cluster over HTTP: admit, finish, preempt,
reconcile, a Redis crash mid-run, and two dispatchers on one Redis. Waits are on conditions."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest
import redis
import yaml

from bot.adapters.kube.client import KubeCluster
from bot.adapters.redis.queue_store import QueueStore
from bot.adapters.redis.stores import RedisStores
from bot.app import runtime_of
from bot.domain import messages as msg
from bot.domain.errors import LeaseLost, TransientBackendError
from bot.domain.jobs import RUNNING_STATES, JobRecord
from bot.domain.policy.config import Policy, parse_policy
from bot.services.dispatcher import LEASE, Dispatcher
from bot.services.jobs import JobsService
from bot.services.runtime import Runtime
from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from tests.services.fakes import FakeChat
from tests.support.botstack import team_namespaces
from tests.support.redis_server import RedisServer
from tests.support.waiting import wait

H100 = "NVIDIA-H100-80GB-HBM3"
POLICY = Path(__file__).resolve().parents[1] / "chatops.example.yaml"
_ids = itertools.count(1)


def policy(**quotas: int) -> Policy:
    data = yaml.safe_load(POLICY.read_text())
    for team, quota in quotas.items():
        data["teams"][team]["gpu_quota"] = quota
    data.setdefault("job_defaults", {})["termination_grace_period_s"] = 5
    return parse_policy(data)


@dataclass
class Stack:
    rt: Runtime
    kube: KubeCluster
    sim: SimCluster

    def runtime(self) -> Runtime:
        """Another replica's runtime on the same Redis and cluster."""
        stores = RedisStores.on(redis.Redis.from_url(self.url), self.rt.policy.redis_prefix)
        return runtime_of(self.rt.policy, stores, self.kube, FakeChat())

    url: str = ""


@contextmanager
def stack(url: str, nodes: int = 1, pol: Policy | None = None) -> Iterator[Stack]:
    p = pol or policy()
    sim = SimCluster([NodeSpec(f"h100-{i}", 8, H100) for i in range(nodes)], speed=60,
                     namespaces=team_namespaces(p))
    with SimServer(sim) as srv:
        kube = KubeCluster.from_url(srv.url, p.gpu_types)
        rt = runtime_of(p, RedisStores.on(redis.Redis.from_url(url), p.redis_prefix), kube, FakeChat())
        try:
            yield Stack(rt, kube, sim, url)
        finally:
            kube.close()


def record(name: str, team: str = "research", gpus: int = 8, duration: str = "1h", limit: int = 7200,
           priority: str = "normal") -> JobRecord:
    ns = {"research": "ml-research", "vision": "ml-vision"}[team]
    return JobRecord(name=name, namespace=ns, team=team, owner="URES0001" if team == "research" else "UVIS0001",
                     image="ghcr.io/acme/train:1", gpus=gpus, gpu_type="h100", time_limit_s=limit,
                     priority=priority,  # type: ignore[arg-type]
                     env={"SIM_DURATION": duration}, idempotency_key=f"it-{next(_ids)}")


def state(s: Stack, ns: str, name: str) -> str | None:
    r = s.rt.store.get(ns, name)
    return r.state if r else None


def test_submit_admit_finish_then_the_next_starts_with_eta_and_reason(redis_url: str) -> None:
    with stack(redis_url) as s:
        d = Dispatcher(s.rt)
        s.rt.store.submit(record("first", duration="1m", limit=600))
        s.rt.store.submit(record("second", duration="1m", limit=600))
        result = d.run_pass()
        assert result.admitted == ["ml-research/first"]
        second = s.rt.store.get("ml-research", "second")
        first = s.rt.store.get("ml-research", "first")
        # started_at comes with the pods running (the watcher's to record); the ETA counts from admission
        assert second is not None and first is not None and first.admitted_at is not None
        assert second.reason == "needs 8 × h100, 0 free"
        assert second.eta == pytest.approx(first.admitted_at + 600, abs=2)
        shown = str(JobsService(s.rt).queue("URES0001").blocks_json())
        assert "`second`" in shown and "needs 8 × h100, 0 free" in shown and "(in 10 min)" in shown
        wait(lambda: "ml-research/second" in d.run_pass().admitted, what="second admitted after first")
        assert state(s, "ml-research", "first") == "succeeded"


def test_preemption_requeues_the_over_quota_job_at_its_old_place(redis_url: str) -> None:
    with stack(redis_url, pol=policy(research=4, vision=8)) as s:
        d = Dispatcher(s.rt)
        s.rt.store.submit(record("greedy", "research"))  # 8 GPUs > quota 4: runs only on idle GPUs
        assert d.run_pass().admitted == ["ml-research/greedy"]
        greedy = s.rt.store.get("ml-research", "greedy")
        assert greedy is not None and greedy.over_quota
        s.rt.store.submit(record("owed", "vision"))  # within vision's quota: takes the GPUs back
        result = d.run_pass()
        assert result.preempted == ["ml-research/greedy"] and result.admitted == []
        back = s.rt.store.get("ml-research", "greedy")
        assert back is not None and back.state == "queued" and back.preemptions == 1
        assert back.reason is not None and "preempted to make room for `owed`" in back.reason
        assert s.rt.store.position("ml-research", "greedy") == 1  # its old place
        assert "ml-research/greedy" not in s.kube.managed_jobs()
        wait(lambda: "ml-vision/owed" in d.run_pass().admitted, what="owed admitted once GPUs drained")
        again = s.rt.store.get("ml-research", "greedy")
        assert again is not None and again.state == "queued" and again.reason
        assert "quota" in again.reason
        assert any("greedy" in text for text in cast(FakeChat, s.rt.cards).texts())


def test_reconcile_mends_and_reports(redis_url: str) -> None:
    with stack(redis_url, nodes=2) as s:
        d = Dispatcher(s.rt)
        s.rt.store.submit(record("lost-step"))
        s.rt.store.submit(record("vanished"))
        assert sorted(d.run_pass().admitted) == ["ml-research/lost-step", "ml-research/vanished"]
        # Redis forgot the admission (e.g. an older AOF), the Job runs: mark it running again
        s.rt.store.transition("ml-research", "lost-step", RUNNING_STATES, "queued")
        # someone deleted a Job behind the bot's back
        s.kube.delete_job("ml-research", "vanished")
        result = d.run_pass()
        assert msg.mended("ml-research/lost-step", msg.MENDED_RUNNING) in result.mended
        assert msg.mended("ml-research/vanished", msg.MENDED_GONE) in result.mended
        assert state(s, "ml-research", "lost-step") == "running"
        assert state(s, "ml-research", "vanished") == "failed"
        assert d.run_pass().mended == []  # mended once
        # a crash between the admission and the create: the next pass creates it
        s.rt.store.submit(record("half", gpus=1))
        s.rt.store.transition("ml-research", "half", ["queued"], "admitted", admitted_at=time.time() - 60)
        result = d.run_pass()
        assert msg.mended("ml-research/half", msg.MENDED_CREATED) in result.mended
        assert "ml-research/half" in s.kube.managed_jobs() and state(s, "ml-research", "half") == "admitted"


def test_redis_killed_mid_run_loses_no_acknowledged_job() -> None:
    with RedisServer() as server, stack(server.url, nodes=2) as s:
        s.rt.store = QueueStore.from_url(server.url)
        d = Dispatcher(s.rt, safety_interval_s=0.1)
        d.start()
        acked: list[str] = []
        try:
            for i in range(30):
                if i == 15:
                    server.restart(crash=True)
                try:
                    s.rt.store.submit(record(f"j{i}", gpus=1, duration="1h"))
                    acked.append(f"j{i}")
                except TransientBackendError:
                    pass  # not acknowledged: the caller was told it failed
                s.rt.wake_dispatcher()
            assert len(acked) >= 28
            for name in acked:
                assert state(s, "ml-research", name) is not None, f"{name} lost"
            # the 16 GPUs fill up (quota 16) and nothing runs twice. A submit that failed from the
            # caller's side may still have been applied before the crash: it may run too.
            submitted = {f"ml-research/j{i}" for i in range(30)}

            def running() -> list[str]:
                return [r.key for r in s.rt.store.list(states=RUNNING_STATES)]

            # Redis counts a job as soon as it is admitted; its Job follows (at once, or by the mend
            # of a create cut off by the crash): wait for both sides to agree
            wait(lambda: len(running()) == 16 and len(s.kube.managed_jobs()) == 16, timeout=30,
                 what=f"16 running and 16 Jobs, have {running()}")
            k8s = s.kube.managed_jobs()
            assert len(k8s) == 16 and set(k8s) <= submitted and set(k8s) == set(running())
            assert all(admissions(s.rt.store, n) <= 1 for n in acked)
            assert all(state(s, "ml-research", n) in ("queued", "admitted", "running") for n in acked)
        finally:
            d.stop()


def admissions(store: QueueStore, name: str) -> int:
    return sum(1 for st, _ in store.history("ml-research", name) if st == "admitted")


def test_two_dispatchers_never_admit_at_once_and_one_takes_over(redis_url: str) -> None:
    with stack(redis_url, nodes=2) as s:
        # a's safety pass is far away: only its TTL/3 tick keeps the lease while idle
        a = Dispatcher(s.rt, safety_interval_s=60, lease_ttl_s=1.5)
        b_rt = s.runtime()
        b = Dispatcher(b_rt, safety_interval_s=0.05, lease_ttl_s=1.5)
        a.start()
        wait(lambda: a.fence is not None, what="a holds the lease")
        b.start()
        try:
            for i in range(12):
                s.rt.store.submit(record(f"j{i}", gpus=1))
                b_rt.wake_dispatcher()
                a.wake()
            # admitted: the Jobs are created (no watcher here to follow their pods to running)
            wait(lambda: all(state(s, "ml-research", f"j{i}") == "admitted" for i in range(12))
                 and len(s.kube.managed_jobs()) == 12, what="all admitted and created")
            renewed = a.renewals
            wait(lambda: a.renewals >= renewed + 7, what="a renews, idle, for more than two TTLs")
            assert b.passes == 0 and b.fence is None
            assert all(admissions(s.rt.store, f"j{i}") == 1 for i in range(12))
            # a fenced write by a replica that is not the holder is refused atomically
            with pytest.raises(LeaseLost):
                b_rt.store.transition("ml-research", "j0", RUNNING_STATES, "running", lease=(LEASE, b.holder))
            a.stop(release=False)  # a dies without releasing: b takes over within one TTL
            died = time.monotonic()
            wait(lambda: b.fence is not None, timeout=5, what="b takes over")
            assert time.monotonic() - died < 1.5 + 1.0
            b_rt.store.submit(record("after", gpus=1))
            b.wake()
            wait(lambda: state(s, "ml-research", "after") == "admitted"
                 and "ml-research/after" in s.kube.managed_jobs(), what="b admits and creates")
            assert admissions(s.rt.store, "after") == 1
        finally:
            a.stop()
            b.stop()


def test_gpu_queue_in_chat_shows_order_eta_and_reason(redis_url: str) -> None:
    from bot.render import replies as rendering
    from tests.support.botstack import bot_stack, button_value, text_of

    image = "ghcr.io/acme/train:1.4"
    with bot_stack(redis_url, nodes=[NodeSpec("h100-0", 8, H100)]) as bs:
        for name in ("running", "waiting"):
            preview = bs.ask(f"launch {name} --image {image} --gpus 8 --gpu-type h100 --time 2h "
                             "--env SIM_DURATION=1h", "URES0001")
            _, rid = bs.click(rendering.LAUNCH_CONFIRM, button_value(preview, rendering.LAUNCH_CONFIRM), "URES0001")
            bs.answer(rid)
        store = bs.bot.runtime.store
        wait(lambda: (r := store.get("ml-research", "waiting")) is not None and r.eta is not None, what="an ETA")
        shown = text_of(bs.ask("queue", "URES0002"))
        assert "The queue, in order: 1 job" in shown and "`waiting`" in shown
        assert "needs 8 × h100, 0 free" in shown and "(in 2 h)" in shown
        mine = text_of(bs.ask("queue", "URES0001"))
        assert ":point_left:" in mine and ":point_left:" not in shown
