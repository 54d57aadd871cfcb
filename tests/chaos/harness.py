"""The chaos rig: the real `chatops run` process against real parts, with the faults of a bad day.

- Redis: a real ``redis-server`` with AOF ``appendfsync always``, SIGKILLed and restarted mid-run;
- Kubernetes: ``chatops sim`` behind a ``FaultProxy`` answering 500s, 429s and dropped connections;
- Slack: the fake Web API answering 429 to every n-th ``chat.*`` call;
- the bot: SIGKILLed between a click and its card, then started again (a user clicks again when
  the click was left unanswered, as people do).

Users launch through signed requests, as Slack sends them; what they were told is recorded per launch.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.adapters.kube.client import KubeCluster
from bot.domain.cluster.manifests import ANN_IDEMPOTENCY_KEY
from bot.domain.policy.config import Policy, load_policy
from bot.render import replies as rendering
from bot.sim.apiserver import SimServer
from bot.sim.cluster import NodeSpec, SimCluster
from bot.sim.slack import requests as sr
from bot.sim.slack.web_api import FakeSlack
from tests.support.botstack import H100, POLICY_FILE, SECRET, button_value, team_namespaces
from tests.support.fault_proxy import FaultProxy
from tests.support.redis_server import RedisServer, free_port

IMAGE = "ghcr.io/acme/train:1.4"
ANSWER_S = 8.0  # a user waits this long for an answer before trying again


@dataclass
class Launch:
    name: str
    user: str
    channel: str
    token: str | None = None  # the preview's button value: the job's idempotency key
    told: list[str] = field(default_factory=list)  # every answer the user got, in order
    previews: int = 0
    clicks: int = 0

    @property
    def final(self) -> str:
        return self.told[-1] if self.told else ""

    @property
    def submitted(self) -> bool:
        return "Submitted" in self.final


@dataclass
class Rig:
    tmp: Path
    redis: RedisServer
    slack: FakeSlack
    sim: SimServer
    proxy: FaultProxy
    policy: Policy
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    kills: int = 0
    redis_kills: int = 0
    starts: int = 0
    _rids: Iterator[int] = field(default_factory=itertools.count)
    _life: threading.Lock = field(default_factory=threading.Lock)  # one start/kill at a time

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    @property
    def log(self) -> Path:
        return self.tmp / "bot.log"

    # --- the bot process -----------------------------------------------------------------------

    def start(self) -> None:
        chatops = Path(sys.executable).parent / "chatops"
        self.proc = subprocess.Popen([str(chatops), "run", "--http", "--port", str(self.port)], env=self.env,
                                     stdout=self.log.open("ab"), stderr=subprocess.STDOUT)
        self.starts += 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("the bot exited at start:\n" + self.log.read_text()[-4000:])
            with contextlib.suppress(OSError), \
                    urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
            time.sleep(0.1)
        raise AssertionError("the bot never served /healthz:\n" + self.log.read_text()[-4000:])

    def kill(self) -> None:
        """SIGKILL: no graceful stop, nothing flushed."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.kills += 1
        self.proc = None

    def crash_bot(self) -> None:
        """SIGKILL the bot wherever it is (mid-click, mid-post) and start it again."""
        with self._life:
            self.kill()
            self.start()

    def monkey(self, stop: threading.Event, *, bot_every_s: float, redis_at_s: Iterable[float]) -> None:
        """Until ``stop``: SIGKILL the bot every ``bot_every_s``; SIGKILL Redis at each of ``redis_at_s``."""
        t0 = time.monotonic()
        redis_due = sorted(redis_at_s)
        next_bot = t0 + bot_every_s if bot_every_s > 0 else float("inf")
        while not stop.wait(0.1):
            now = time.monotonic()
            if redis_due and now - t0 >= redis_due[0]:
                redis_due.pop(0)
                self.crash_redis()
            if now >= next_bot:
                self.crash_bot()
                next_bot = time.monotonic() + bot_every_s

    def stop(self) -> int:
        if self.proc is None:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return -9
        finally:
            self.proc = None

    def crash_redis(self) -> None:
        self.redis.restart(crash=True)
        self.redis_kills += 1

    # --- a user ------------------------------------------------------------------------------

    def _answer(self, rid: str, timeout: float = ANSWER_S) -> dict[str, Any] | None:
        try:
            return self.slack.wait_for(lambda c: c.method == "response_url" and c.args.get("_id") == rid,
                                       timeout).args
        except TimeoutError:
            return None

    def _send(self, body: bytes) -> bool:
        try:
            return sr.send(self.url, body, SECRET, timeout=5)[0] == 200
        except OSError:
            return False

    def preview(self, launch: Launch, text: str, attempts: int = 12) -> bool:
        """``/gpu launch ...`` until a preview with a [Launch] button comes back."""
        for _ in range(attempts):
            rid = f"p{next(self._rids)}"
            launch.previews += 1
            body = sr.slash_command_body(text, launch.user, launch.channel, response_url=self.slack.response_url(rid))
            if not self._send(body):
                time.sleep(0.5)
                continue
            answer = self._answer(rid)
            if answer is None:
                continue
            try:
                launch.token = button_value(answer, rendering.LAUNCH_CONFIRM)
                return True
            except AssertionError:
                launch.told.append(json.dumps(answer)[:300])  # refused or busy: try again
                time.sleep(0.3)
        return False

    def click(self, launch: Launch, attempts: int = 12) -> None:
        """[Launch], and again while unanswered or answered "try again" (the bot may have died meanwhile,
        or Redis): what a person does. Stops at "Submitted" or at a final refusal."""
        assert launch.token is not None
        for _ in range(attempts):
            rid = f"c{next(self._rids)}"
            launch.clicks += 1
            body = sr.block_actions_body(rendering.LAUNCH_CONFIRM, launch.token, launch.user, launch.channel,
                                         response_url=self.slack.response_url(rid))
            answer = self._answer(rid) if self._send(body) else None
            if answer is not None:
                text = str(answer.get("text") or json.dumps(answer)[:300])
                launch.told.append(text)
                if "Submitted" in text or "expired" in text:
                    return
            time.sleep(0.5)

    # --- what happened ---------------------------------------------------------------------------

    def cluster_jobs(self) -> list[dict[str, Any]]:
        """Every Kubernetes Job the bot made, read from the simulated API server directly (no faults)."""
        kube = KubeCluster.from_url(self.sim.url, self.policy.gpu_types)
        try:
            out: list[dict[str, Any]] = []
            for ns in {t.namespace for t in self.policy.teams.values()}:
                items = kube.batch.list_namespaced_job(ns, label_selector="app.kubernetes.io/managed-by=gpu-chatops")
                out += [kube.api_client.sanitize_for_serialization(j) for j in items.items]
            return out
        finally:
            kube.close()

    def cards(self, name: str) -> list[tuple[str, dict[str, Any]]]:
        """(ts, message) of every top-level message Slack holds that is the card of job ``name``: headed
        by its name, as a person in the channel sees it (metadata or not)."""
        out = []
        for (_ch, ts), m in list(self.slack.messages.items()):
            blocks = m.get("blocks") or []
            if not m.get("thread_ts") and blocks and blocks[0].get("type") == "header" \
                    and blocks[0].get("text", {}).get("text") == name:
                out.append((ts, m))
        return out


@contextlib.contextmanager
def rig(tmp: Path, *, nodes: int = 4, speed: float = 60.0, error_rate: float = 0.2, throttle_rate: float = 0.05,
        drop_rate: float = 0.05, slack_429_every: int = 4, seed: int = 7) -> Any:
    policy = load_policy(POLICY_FILE)
    cluster = SimCluster([NodeSpec(f"h100-{i}", 8, H100) for i in range(nodes)], speed=speed,
                         namespaces=team_namespaces(policy))
    with RedisServer() as redis, FakeSlack() as slack, SimServer(cluster) as sim:
        proxy = FaultProxy(sim.url, error_rate=error_rate, throttle_rate=throttle_rate, drop_rate=drop_rate,
                           seed=seed)
        proxy.start()
        kubeconfig = proxy.write_kubeconfig(tmp / "kubeconfig")
        slack.throttle(slack_429_every)
        env = {**os.environ, "SLACK_BOT_TOKEN": "xoxb-chaos", "SLACK_SIGNING_SECRET": SECRET,
               "SLACK_API_URL": slack.url, "REDIS_URL": redis.url, "KUBECONFIG": str(kubeconfig),
               "CHATOPS_CONFIG": str(POLICY_FILE)}
        env.pop("SLACK_APP_TOKEN", None)
        r = Rig(tmp, redis, slack, sim, proxy, policy, free_port(), env)
        try:
            yield r
        finally:
            r.kill()
            proxy.stop()


def idempotency_key(job: dict[str, Any]) -> str:
    return str((job.get("metadata", {}).get("annotations") or {}).get(ANN_IDEMPOTENCY_KEY, ""))
