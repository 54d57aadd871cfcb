"""GPU views from Prometheus: `/gpu gpus` with utilization, `/gpu usage` charts, idle-job nudges.

Without ``PROMETHEUS_URL`` `/gpu gpus` stays the cluster-only table and `/gpu usage` says why it
cannot chart. The nudger is a thread: every ``interval_s`` it checks each running bot job whose GPUs
have had samples for the whole idle window, and DMs the owner once per ``every_s`` (a Redis marker).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.domain import messages as msg
from bot.domain.actions import Usage
from bot.domain.durations import format_duration
from bot.domain.errors import BackendError, TransientBackendError
from bot.domain.jobs import RUNNING_STATES
from bot.domain.scheduling.pools import gpu_pools, pooled_facts, split_pool
from bot.render import replies as rendering
from bot.render.alerts import idle_nudge
from bot.render.gpus import JobRow, TypeRow, gpus_with_metrics, model_to_type, short_type
from bot.services.jobs import JobsService
from bot.services.needs import CardPorts, GpuViewPorts
from bot.services.ports import AlertStates, GpuMetrics

log = logging.getLogger(__name__)

CHART_POINTS = 120  # samples per series: enough for a 9-inch chart, cheap for Prometheus
UPLOAD_TIMEOUT_S = 120.0


class GpuViews:
    def __init__(self, rt: GpuViewPorts, jobs: JobsService, prometheus: GpuMetrics | None) -> None:
        self.rt = rt
        self.jobs = jobs
        self.prom = prometheus

    def gpus(self) -> rendering.Reply:
        if self.prom is None:
            return self.jobs.gpus()
        snap = self.rt.cluster.snapshot()
        facts = pooled_facts(snap.facts) if snap.clusters else snap.facts  # several clusters: by cluster
        table = model_to_type(self.rt.policy.gpu_types)
        util_by_type: dict[str, float] = {}
        for model, util in self.prom.util_by_model().items():
            short = short_type(model, table)
            if short is not None:
                util_by_type[short] = util
        rows = []
        for label, pool in gpu_pools(self.rt.policy, snap):
            cap = facts.capacity(pool)
            if cap:  # utilisation is Prometheus's per GPU model, over every cluster it scrapes
                free = facts.free(pool)
                rows.append(TypeRow(label, cap, cap - free, free, util_by_type.get(split_pool(pool)[0])))
        jobs = []
        for r in self.rt.store.list(states=("running",), limit=50):
            stats = self.prom.job_stats(r.namespace, r.name)
            jobs.append(JobRow(r.key, stats.gpus or r.gpus, stats.util, stats.memory_mib))
        return gpus_with_metrics(rows, jobs, [msg.gpus_cluster_unreachable(c, t) for c, t in snap.unreachable.items()])

    def usage(self, action: Usage, channel: str) -> rendering.Reply:
        window = format_duration(action.window_s)
        if self.prom is None:
            return rendering.text_reply(msg.usage_no_prometheus())
        end = self.rt.clock()
        step = max(15, action.window_s // CHART_POINTS)
        data = self.prom.usage(end - action.window_s, end, step)
        if not any(data["util"].values()):
            return rendering.text_reply(msg.usage_no_data(window))
        table = model_to_type(self.rt.policy.gpu_types)
        names = {m: short_type(m, table) or m for m in {*data["util"], *data["alloc"]}}
        png = self.rt.charts(data["util"], data["alloc"], msg.usage_title(window), names)
        resp = self.rt.cards.call(
            "files_upload_v2", channel, paced=True, timeout=UPLOAD_TIMEOUT_S, channel=channel,
            filename=f"gpu-usage-{window}.png", content=png, title=msg.usage_title(window),
        )
        if resp is None:
            raise TransientBackendError("slack", "Slack did not take the chart upload")
        return rendering.text_reply(msg.usage_posted(window))


class IdleNudger:
    """DMs a job's owner when its GPUs stayed under ``threshold`` percent for ``idle_s``."""

    def __init__(self, rt: CardPorts, prom: GpuMetrics, store: AlertStates, *, idle_s: int = 1800,
                 threshold: float = 5.0, every_s: int = 4 * 3600, interval_s: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.rt, self.prom, self.store = rt, prom, store
        self.idle_s, self.threshold, self.every_s, self.interval_s = idle_s, threshold, every_s, interval_s
        self.clock = clock
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="idle-nudger", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopping.wait(self.interval_s):
            try:
                self.check()
            except BackendError as err:
                log.warning("idle check skipped: %s", err)
            except Exception:
                log.exception("idle check failed")

    def check(self) -> list[str]:
        """One pass; the keys of the jobs nudged."""
        nudged = []
        for r in self.rt.store.list(states=RUNNING_STATES, limit=500):
            if r.state != "running" or not r.started_at or self.clock() - r.started_at < self.idle_s:
                continue
            age = self.prom.job_sample_age(r.namespace, r.name, self.idle_s)
            if age is None or age < self.idle_s - 120:  # not watched for the whole window yet
                continue
            peak = self.prom.job_max_util(r.namespace, r.name, self.idle_s)
            if peak is None or peak >= self.threshold:
                continue
            if self.store.claim_nudge(r.key, self.every_s):
                self.rt.cards.dm(r.owner, idle_nudge(r.key, self.idle_s // 60, peak))
                nudged.append(r.key)
        return nudged
