"""Training logs generated on demand from a pod's simulated progress, so memory stays O(1) per pod.

Also parses the failure-injection and duration conventions (``SIM_FAIL``, ``SIM_DURATION``, image tags).
"""

from __future__ import annotations

import contextlib
import math
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.domain.cluster.objects import Obj
from bot.domain.durations import parse_duration

DEFAULT_DURATION = 300.0
TOTAL_STEPS = 1000
LOG_EVERY = 10
MAX_LINES = 2000
FAILURES = ("oomkilled", "imagepull", "nccl-timeout", "cuda-oom")  # plus "exit:N"

# One GPU's total memory as torch reports it (GiB), by a word of the product label.
GPU_MEMORY_GIB: dict[str, float] = {
    "H100": 79.1, "H200": 139.8, "B200": 178.4, "A100": 79.2, "L40S": 44.4, "A10G": 22.1, "L4": 22.0,
    "T4": 14.6, "V100": 15.8,
}  # fmt: skip


def gpu_memory_gib(product: str) -> float:
    """``NVIDIA-L40S`` → 44.4; an unknown product is taken to be an 80 GB part."""
    words = product.upper().replace("_", "-").split("-")
    return next((GPU_MEMORY_GIB[w] for w in words if w in GPU_MEMORY_GIB), 79.1)


def parse_sim_duration(text: str) -> float:
    """``SIM_DURATION``: plain seconds (``"600"``) or a grammar duration (``"10m"``)."""
    t = text.strip()
    try:
        return max(1.0, float(t))
    except ValueError:
        return float(parse_duration(t))


def parse_failure(value: str | None) -> str | None:
    """Normalise a ``SIM_FAIL`` value or an image tag suffix to one failure mode, or None."""
    if not value:
        return None
    v = value.strip().lower()
    if m := re.fullmatch(r"exit[:-](\d+)", v):
        return f"exit:{int(m.group(1))}"
    aliases = {
        "oomkilled": "oomkilled",
        "oom": "oomkilled",
        "imagepullbackoff": "imagepull",
        "imagepull": "imagepull",
        "errimagepull": "imagepull",
        "nccl-timeout": "nccl-timeout",
        "nccl": "nccl-timeout",
        "cuda-oom": "cuda-oom",
    }
    return aliases.get(v)


def container_settings(container: Obj) -> tuple[float, str | None]:
    """(simulated duration in seconds, failure mode) from the first container's env and image tag."""
    env = {e.get("name"): str(e.get("value", "")) for e in container.get("env") or [] if isinstance(e, dict)}
    duration = DEFAULT_DURATION
    if env.get("SIM_DURATION"):
        with contextlib.suppress(ValueError):
            duration = parse_sim_duration(env["SIM_DURATION"])
    fail = parse_failure(env.get("SIM_FAIL"))
    image = str(container.get("image", ""))
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    if fail is None and tag.startswith("fail-"):
        fail = parse_failure(tag[len("fail-") :])
    return duration, fail


@dataclass(slots=True)
class PodRun:
    """What the kubelet knows about one bound pod; enough to regenerate its log at any moment."""

    namespace: str
    name: str
    uid: str
    node: str
    gpus: int
    image: str
    container: str
    containers: tuple[str, ...]
    duration: float
    fail: str | None
    index: int
    world: int
    bound_at: float
    started_at: float | None = None
    ended_at: float | None = None
    gpu_memory_gib: float = 79.1  # what torch reports as one GPU's total capacity on the pod's node


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%m%d %H:%M:%S.%f")[:-3]


def _loss(seed: int, step: int) -> float:
    noise = ((seed * 2654435761 + step * 40503) % 1000) / 1000 - 0.5
    return 0.9 + 1.8 * math.exp(-3.0 * step / TOTAL_STEPS) + 0.05 * noise


def render_log(run: PodRun, now: float) -> list[str]:
    """The whole log up to simulated time ``now`` (bounded to ``MAX_LINES``)."""
    if run.started_at is None:
        return []
    seed = zlib.crc32(run.uid.encode())
    rank = run.index * max(1, run.gpus)
    t0 = run.started_at
    lines = [
        f"I{_stamp(t0)} torch/distributed/run.py:793] Using nproc_per_node={max(1, run.gpus)}.",
        f"[torchrun] nnodes={run.world} node_rank={run.index} master_port=29500 rdzv_backend=c10d",
        f"[rank{rank}] NCCL INFO Bootstrap : Using eth0:10.244.{seed % 250}.{run.index + 10}<0>",
        f"[rank{rank}] NCCL version 2.21.5+cuda12.4",
        f"[rank{rank}] world_size={run.world * max(1, run.gpus)} image={run.image} node={run.node}",
        f"[rank{rank}] loading dataset shards... done (1.2M samples)",
    ]
    end = run.ended_at if run.ended_at is not None else now
    fraction = min(1.0, max(0.0, (end - t0) / run.duration))
    steps = int(fraction * TOTAL_STEPS)
    throughput = 1500.0 + (seed % 400)
    first = max(LOG_EVERY, (steps // LOG_EVERY - MAX_LINES) * LOG_EVERY)
    for step in range(first, steps + 1, LOG_EVERY):
        lr = 3e-4 * min(1.0, step / 100) * (0.5 + 0.5 * math.cos(math.pi * step / TOTAL_STEPS))
        sps = throughput + ((seed + step) % 97) - 48
        lines.append(
            f"[rank{rank}] step {step}/{TOTAL_STEPS} | loss {_loss(seed, step):.4f} | "
            f"{sps:.1f} samples/s | lr {lr:.1e}"
        )
    if run.ended_at is not None:
        lines += _ending(run, rank, steps)
    return lines[-MAX_LINES:]


def _ending(run: PodRun, rank: int, steps: int) -> list[str]:
    t = _stamp(run.ended_at or 0.0)
    if run.fail is None:
        return [
            f"[rank{rank}] training complete: {TOTAL_STEPS} steps, final loss "
            f"{_loss(zlib.crc32(run.uid.encode()), TOTAL_STEPS):.4f}",
            f"[rank{rank}] saved checkpoint to /checkpoints/step-{TOTAL_STEPS}",
        ]
    if run.fail == "nccl-timeout":
        seq = steps * 12 + 7
        return [
            f"[rank{rank}]:[E{t} ProcessGroupNCCL.cpp:616] [Rank {rank}] Watchdog caught collective "
            f"operation timeout: WorkNCCL(SeqNum={seq}, OpType=ALLREDUCE, NumelIn=262144000, "
            "NumelOut=262144000, Timeout(ms)=600000) ran for 600027 milliseconds before timing out.",
            f"[rank{rank}]:[E{t} ProcessGroupNCCL.cpp:1664] [PG 0 (default_pg) Rank {rank}] Exception "
            "(either an error or timeout) detected by watchdog at work: "
            f"{seq}, last enqueued NCCL work: {seq}, last completed NCCL work: {seq - 1}.",
            "terminate called after throwing an instance of 'c10::DistBackendError'",
        ]
    if run.fail == "cuda-oom":
        cap = run.gpu_memory_gib
        return [
            "Traceback (most recent call last):",
            '  File "/app/train.py", line 214, in <module>',
            "    loss.backward()",
            "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total "
            f"capacity of {cap:.2f} GiB of which 1.21 GiB is free. Including non-PyTorch memory, this process has "
            f"{cap - 1.22:.2f} GiB memory in use. Of the allocated memory {cap - 5.08:.2f} GiB is allocated by "
            "PyTorch, and 2.31 GiB is reserved by PyTorch but unallocated.",
        ]
    if run.fail.startswith("exit:"):
        return [
            f"[rank{rank}] RuntimeError: training script failed",
            f"ERROR: process exited with code {run.fail[5:]}",
        ]
    return []  # OOMKilled: the kernel kills the process mid-line, nothing more is written


def exit_code(fail: str | None) -> tuple[int, str]:
    """(exitCode, terminated reason) for how a container ends."""
    if fail is None:
        return 0, "Completed"
    if fail == "oomkilled":
        return 137, "OOMKilled"
    if fail.startswith("exit:"):
        return int(fail[5:]), "Error"
    return 1, "Error"
