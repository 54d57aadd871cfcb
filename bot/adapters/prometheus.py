"""GPU metrics from Prometheus (DCGM exporter series): the only importer of ``prometheus_api_client``.

Every query is built from ``bot.domain.alerts.promql``: label values (namespaces, job names) are quoted and
regex-escaped there, never pasted. Failures become ``TransientBackendError`` ("Prometheus ...").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException

from bot.domain.alerts import promql
from bot.domain.cluster.gpu_stats import JobGpuStats, Series
from bot.domain.errors import TransientBackendError


def util_expr(*matchers: tuple[str, str, str]) -> str:
    """Per-GPU utilization in percent: DCGM's GPU_UTIL, or 100 × the profiling engine-active ratio
    where only that is exported (``or`` keeps one sample per GPU)."""
    dev = promql.selector("DCGM_FI_DEV_GPU_UTIL", *matchers)
    prof = promql.selector("DCGM_FI_PROF_GR_ENGINE_ACTIVE", *matchers)
    return f"({dev} or 100 * {prof})"


def _failed(e: Exception) -> TransientBackendError:
    return TransientBackendError("prometheus", f"Prometheus query failed: {type(e).__name__}: {str(e)[:200]}")


class PrometheusGpu:
    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        self._prom = PrometheusConnect(url=url.rstrip("/"), disable_ssl=True, timeout=int(max(1, timeout_s)))

    def _query(self, query: str) -> list[dict[str, Any]]:
        try:
            out: list[dict[str, Any]] = self._prom.custom_query(query)
        except (PrometheusApiClientException, requests.RequestException, ValueError) as e:
            raise _failed(e) from None
        return out

    def _range(self, query: str, start: float, end: float, step_s: int) -> list[dict[str, Any]]:
        try:
            out: list[dict[str, Any]] = self._prom.custom_query_range(
                query, start_time=dt.datetime.fromtimestamp(start, dt.UTC),
                end_time=dt.datetime.fromtimestamp(end, dt.UTC), step=f"{step_s}s",
            )
        except (PrometheusApiClientException, requests.RequestException, ValueError) as e:
            raise _failed(e) from None
        return out

    @staticmethod
    def _scalar(rows: list[dict[str, Any]]) -> float | None:
        return float(rows[0]["value"][1]) if rows else None

    def util_by_model(self) -> dict[str, float]:
        """modelName → mean utilization (percent) over the last 5 minutes."""
        rows = self._query(f"avg by (modelName) (avg_over_time({util_expr()}[5m:1m]))")
        return {r["metric"].get("modelName", "?"): float(r["value"][1]) for r in rows}

    def job_stats(self, namespace: str, job: str) -> JobGpuStats:
        m = (("namespace", "=", namespace), ("pod", "=~", promql.pods_of_job(job)))
        gpus = self._scalar(self._query(f"count({util_expr(*m)})"))
        util = self._scalar(self._query(f"avg(avg_over_time({util_expr(*m)}[5m:1m]))"))
        mem = self._scalar(self._query(f"sum({promql.selector('DCGM_FI_DEV_FB_USED', *m)})"))
        return JobGpuStats(int(gpus or 0), util, mem)

    def job_max_util(self, namespace: str, job: str, window_s: int) -> float | None:
        """The highest mean utilization of the job's GPUs over the window (None: no samples)."""
        m = (("namespace", "=", namespace), ("pod", "=~", promql.pods_of_job(job)))
        return self._scalar(self._query(f"max_over_time(avg({util_expr(*m)})[{int(window_s)}s:1m])"))

    def job_sample_age(self, namespace: str, job: str, window_s: int) -> float | None:
        """How long (s, up to the window) the job's GPUs have had samples: idle needs a full window."""
        m = (("namespace", "=", namespace), ("pod", "=~", promql.pods_of_job(job)))
        q = f"time() - min_over_time(timestamp(avg({util_expr(*m)}))[{int(window_s)}s:1m])"
        return self._scalar(self._query(q))

    def usage(self, start: float, end: float, step_s: int) -> dict[str, dict[str, Series]]:
        """{"util": modelName → [(t, percent)], "alloc": modelName → [(t, percent of GPUs with a pod)]}."""
        util = self._range(f"avg by (modelName) ({util_expr()})", start, end, step_s)
        alloc = self._range(
            f"100 * count by (modelName) ({util_expr(('pod', '!=', ''))}) / count by (modelName) ({util_expr()})",
            start, end, step_s,
        )

        def series(rows: list[dict[str, Any]]) -> dict[str, Series]:
            return {r["metric"].get("modelName", "?"): [(float(t), float(v)) for t, v in r["values"]] for r in rows}

        return {"util": series(util), "alloc": series(alloc)}
