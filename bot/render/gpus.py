"""`/gpu gpus` with Prometheus: capacity, allocated, free and mean utilization per GPU type, then
each running bot job's GPU utilization and memory."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import messages as msg
from bot.render.replies import MAX_SECTION, Reply, text_reply


@dataclass(frozen=True)
class TypeRow:
    gpu_type: str
    capacity: int
    allocated: int
    free: int
    util: float | None  # percent; None when Prometheus has no samples for that type


@dataclass(frozen=True)
class JobRow:
    key: str
    gpus: int
    util: float | None
    memory_mib: float | None


def model_to_type(gpu_types: dict[str, str]) -> dict[str, str]:
    """DCGM's modelName ("NVIDIA H100 80GB HBM3") → the policy's short name, matching the node label
    form ("NVIDIA-H100-80GB-HBM3") case-insensitively with spaces as dashes."""
    return {product.lower(): short for short, product in gpu_types.items()}


def short_type(model_name: str, table: dict[str, str]) -> str | None:
    return table.get(model_name.strip().replace(" ", "-").lower())


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.0f}%"


def gpus_with_metrics(types: list[TypeRow], jobs: list[JobRow], notes: list[str] | None = None) -> Reply:
    """``notes``: with several clusters, those that do not answer."""
    width = max([7, *(len(r.gpu_type) for r in types)])
    lines = [msg.gpus_util_title(), f"```{'type':<{width}} capacity  in use  free   util"]
    for r in types:
        lines.append(f"{r.gpu_type:<{width}} {r.capacity:>8} {r.allocated:>7} {r.free:>5} {_pct(r.util):>6}")
    lines.append("```")
    lines += notes or []
    if jobs:
        lines += [msg.gpus_jobs_title(), "```job                              GPUs   util   memory"]
        for j in jobs:
            mem = "—" if j.memory_mib is None else f"{j.memory_mib / 1024:.1f} GiB"
            lines.append(f"{j.key[:32]:<32} {j.gpus:>5} {_pct(j.util):>6} {mem:>9}")
        lines.append("```")
    return text_reply("\n".join(lines)[:MAX_SECTION])
