"""GPU telemetry as the bot reads it (DCGM series from Prometheus)."""

from __future__ import annotations

from dataclasses import dataclass

Series = list[tuple[float, float]]


@dataclass(frozen=True)
class JobGpuStats:
    gpus: int  # GPUs with samples
    util: float | None  # mean percent over the last 5 minutes
    memory_mib: float | None  # framebuffer used, summed over the job's GPUs
