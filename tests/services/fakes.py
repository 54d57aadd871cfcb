"""In-memory fakes of the ports (bot/services/ports.py): services tested with no server at all.

The job queue fake is the real ``QueueStore`` on the embedded in-process store (its Lua scripts are the
behaviour under test elsewhere); everything else is a plain dict or list here.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from bot.adapters.redis.stores import RedisStores
from bot.app import runtime_of
from bot.domain.cards import Posted
from bot.domain.cluster.snapshot import JobPhase, Snapshot
from bot.domain.cluster.watch_spec import WatchSpec
from bot.domain.errors import DryRunRejected, NamespaceMissing
from bot.domain.message import Message
from bot.domain.policy.config import Policy
from bot.domain.scheduling.model import ClusterFacts, NodeFacts
from bot.services.ports import OnEvent, OnReset
from bot.services.runtime import Runtime


@dataclass
class Sent:
    method: str
    channel: str
    text: str
    ts: str | None = None
    thread_ts: str | None = None


class FakeChat:
    """Records what the bot would send to Slack; every post gets a fresh ts."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: list[Sent] = []
        self.cards: dict[str, dict[str, Any]] = {}  # ts → metadata of the cards posted
        self._ts = itertools.count(1)

    def _add(self, s: Sent) -> None:
        with self.lock:
            self.sent.append(s)

    def texts(self, method: str | None = None) -> list[str]:
        with self.lock:
            return [s.text for s in self.sent if method is None or s.method == method]

    def post(self, channel: str, reply: Message, thread_ts: str | None = None) -> str | None:
        ts = f"1700000000.{next(self._ts):06d}"
        self._add(Sent("post", channel, reply.text, ts, thread_ts))
        return ts

    def update(self, channel: str, ts: str, reply: Message, origin: float | None = None,
               on_done: Callable[[], None] | None = None) -> bool:
        self._add(Sent("update", channel, reply.text, ts))
        if on_done is not None:
            on_done()
        return True

    def reply_in_thread(self, channel: str, thread_ts: str, reply: Message, *, newest_only: bool = False) -> None:
        self._add(Sent("thread", channel, reply.text, None, thread_ts))

    def dm(self, user: str, reply: Message) -> None:
        self._add(Sent("dm", user, reply.text))

    def ephemeral(self, channel: str, user: str, reply: Message) -> None:
        self._add(Sent("ephemeral", channel, reply.text))

    def upload(self, channel: str, filename: str, content: str, title: str, comment: str | None = None) -> bool:
        self._add(Sent("upload", channel, content))
        return True

    def dm_channel(self, user: str) -> str | None:
        return f"D{user}"

    def publish_view(self, user: str, view: dict[str, Any]) -> None:
        self._add(Sent("view", user, str(view.get("type"))))

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> bool:
        self._add(Sent("modal", trigger_id, str(view.get("callback_id"))))
        return True

    def call(self, method: str, lane: str, *, paced: bool, timeout: float | None = None,
             **kwargs: Any) -> dict[str, Any] | None:
        self._add(Sent(method, lane, str(kwargs.get("title") or kwargs.get("text") or "")))
        return {"ok": True, "ts": f"1700000000.{next(self._ts):06d}"}

    def post_card(self, channel: str, reply: Message, metadata: dict[str, Any], keepalive: Callable[[], bool],
                  every_s: float = 3.0) -> Posted:
        ts = self.post(channel, reply)
        with self.lock:
            self.cards[ts] = metadata
        return Posted(ts)

    def find_card(self, channel: str, metadata: dict[str, Any]) -> str | None:
        with self.lock:
            return next((ts for ts, m in self.cards.items() if m == metadata), None)

    def flush(self, timeout: float = 10.0) -> bool:
        return True


@dataclass
class FakeCluster:
    """A cluster of GPU nodes that records what the bot creates and deletes; no scheduling."""

    nodes: list[NodeFacts] = field(default_factory=list)
    created: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # "ns/name" → manifests
    deleted: list[str] = field(default_factory=list)
    deleted_kinds: list[str] = field(default_factory=list)
    reject_dry_run: str | None = None  # a reason: the next dry runs are refused with it
    missing_namespaces: set[str] = field(default_factory=set)  # dry runs there: 404 namespaces "X" not found
    logs: dict[str, str] = field(default_factory=dict)  # pod name → log text

    def watch(self, spec: WatchSpec, on_reset: OnReset, on_event: OnEvent) -> _IdleWatch:
        return _IdleWatch(spec)

    def snapshot(self) -> Snapshot:
        return Snapshot(ClusterFacts(list(self.nodes)))

    def managed_jobs(self, kinds: Collection[str] = ()) -> dict[str, JobPhase]:
        phases = {}
        for key in self.created:
            namespace, name = key.split("/", 1)
            phases[key] = JobPhase(namespace, name, finished=None, reason=None, suspended=False)
        return phases

    def job_pods(self, namespace: str, name: str) -> list[dict[str, Any]]:
        return [{"metadata": {"name": p, "namespace": namespace}} for p in self.logs if p.startswith(name)]

    def pod_log(self, namespace: str, pod: str, tail: int) -> str:
        return "\n".join(self.logs.get(pod, "").splitlines()[-tail:])

    def dry_run(self, manifests: list[dict[str, Any]]) -> None:
        if self.reject_dry_run:
            raise DryRunRejected("kubernetes", self.reject_dry_run, status=422)
        for obj in manifests:
            if obj["metadata"]["namespace"] in self.missing_namespaces:
                raise NamespaceMissing(obj["metadata"]["namespace"])

    def create(self, manifests: list[dict[str, Any]], idempotency_key: str) -> None:
        meta = manifests[0]["metadata"]
        self.created.setdefault(f"{meta['namespace']}/{meta['name']}", manifests)

    def job_exists(self, namespace: str, name: str, *, kind: str = "job") -> bool:
        return f"{namespace}/{name}" in self.created

    def delete_job(self, namespace: str, name: str, *, wait_for_pods: bool = False, kind: str = "job") -> bool:
        self.deleted.append(f"{namespace}/{name}")
        self.deleted_kinds.append(kind)
        return self.created.pop(f"{namespace}/{name}", None) is not None

    def preempt_job(self, namespace: str, name: str, grace_period_s: int, *, kind: str = "job") -> bool:
        return self.delete_job(namespace, name, kind=kind)

    def set_deadline(self, namespace: str, name: str, active_deadline_s: int) -> bool:
        if f"{namespace}/{name}" not in self.created:
            return False
        self.created[f"{namespace}/{name}"][0]["spec"]["activeDeadlineSeconds"] = active_deadline_s
        return True

    def workloads(self) -> dict[str, Any]:
        return {}  # no Kueue here

    def pending_positions(self, namespace: str, queue: str) -> dict[str, int]:
        return {}


class _IdleWatch:
    def __init__(self, spec: WatchSpec) -> None:
        self.spec = spec
        self._stop = threading.Event()

    def run(self) -> None:
        self._stop.wait()

    def stop(self) -> None:
        self._stop.set()


def fake_runtime(policy: Policy, *, nodes: list[NodeFacts] | None = None,
                 clock: Any = time.time) -> tuple[Runtime, FakeChat, FakeCluster]:
    """A runtime on in-memory parts: the embedded store, a fake cluster, a fake Slack."""
    chat, cluster = FakeChat(), FakeCluster(nodes or [])
    rt = runtime_of(policy, RedisStores.connect(None, policy.redis_prefix), cluster, chat)
    rt.clock = clock
    return rt, chat, cluster
