"""Failure diagnosis: the facts of a failure (and the log tail) → plain words with a next step.

Pure. The log tail is read first because the container's exit code alone cannot tell a CUDA
out-of-memory or an NCCL watchdog timeout from any other crash (both exit with 1).
"""

from __future__ import annotations

import re

from bot.domain import messages as msg
from bot.domain.cluster.job_states import Failure
from bot.domain.cluster.manifests import multiply_quantity
from bot.domain.durations import format_duration
from bot.domain.jobs import JobRecord

# Memory of one GPU of each model, as sold (GB): what a CUDA out-of-memory is measured against.
GPU_MEMORY_GB: dict[str, int] = {
    "h100": 80, "h200": 141, "b200": 192, "a100": 80, "l40s": 48, "a10g": 24, "l4": 24, "t4": 16, "v100": 16,
}  # fmt: skip

CUDA_OOM = re.compile(r"CUDA out of memory|torch\.(cuda\.)?OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED")
NCCL_TIMEOUT = re.compile(r"Watchdog caught collective operation timeout|NCCL.*(timeout|timed out)", re.IGNORECASE)


def log_cause(log_tail: str) -> str | None:
    """``cuda-oom`` / ``nccl-timeout`` when the log shows it, else None."""
    if CUDA_OOM.search(log_tail):
        return "cuda-oom"
    if NCCL_TIMEOUT.search(log_tail):
        return "nccl-timeout"
    return None


def relaunch_command(r: JobRecord, time_limit_s: int, memory: str | None = None) -> str:
    """The ``/gpu launch`` that runs ``r`` again with ``time_limit_s`` (and ``memory`` per node when
    given); a fresh name, so that the two runs are told apart in lists."""
    parts = ["/gpu launch", f"{r.name}-2", f"--image {r.image}", f"--gpus {r.gpus}", f"--gpu-type {r.gpu_type}"]
    if r.nodes > 1:
        parts.append(f"--nodes {r.nodes}")
    parts.append(f"--time {format_duration(time_limit_s)}")
    if r.priority != "normal":
        parts.append(f"--priority {r.priority}")
    if memory or r.memory:
        parts.append(f"--memory {memory or r.memory}")
    if r.cpus:
        parts.append(f"--cpus {r.cpus}")
    parts += [f"--env {k}={v}" for k, v in sorted(r.env.items())]
    if r.command:
        parts += ["--", *r.command]
    return " ".join(parts)


def _memory_limit(per_gpu: str | None, gpus: int) -> str | None:
    try:
        return multiply_quantity(per_gpu, gpus) if per_gpu else None
    except ValueError:
        return None  # the policy loader checks the quantity; a diagnosis is no place to fail on it


def explain(failure: Failure, r: JobRecord, log_tail: str = "", max_time_limit_s: int | None = None,
            memory_per_gpu: str | None = None) -> str:
    """One paragraph: what happened, in plain words, and what to do next.

    A next step only names what a person can do with the bot: an OOM-killed container is offered
    the launch again with twice its memory limit (``--memory``, per node; the limit was ``r.memory``
    or the policy's ``memory_per_gpu`` × its GPUs per node).
    """
    cause = log_cause(log_tail) if failure.kind in ("exit_code", "unknown") else None
    if cause == "cuda-oom":
        return msg.diag_cuda_oom(r.gpu_type, GPU_MEMORY_GB.get(r.gpu_type))
    if cause == "nccl-timeout":
        return msg.diag_nccl()
    match failure.kind:
        case "oomkilled":
            limit = r.memory or _memory_limit(memory_per_gpu, r.gpus_per_node)
            more = _memory_limit(limit, 2)
            return msg.diag_oom(limit, relaunch_command(r, r.time_limit_s, more) if more else None)
        case "image_pull":
            return msg.diag_image_pull(failure.image or r.image, failure.message)
        case "unschedulable":
            return msg.diag_unschedulable(r.gpus_per_node, r.gpu_type, r.nodes, failure.message)
        case "deadline":
            longer = r.time_limit_s * 2
            if max_time_limit_s is not None:
                longer = min(longer, max_time_limit_s)
            return msg.diag_deadline(format_duration(r.time_limit_s), relaunch_command(r, longer))
        case "exit_code":
            return msg.diag_exit(failure.exit_code)
        case "node_lost":
            return msg.diag_node_lost(failure.message)
        case "evicted":
            return msg.diag_evicted(failure.message)
    return msg.diag_unknown(failure.message)
