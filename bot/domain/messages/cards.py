"""User-facing text: cards."""

from __future__ import annotations

from bot.domain.durations import humanize

# --- cards and replies ---------------------------------------------------------------------------

STATE_EMOJI = {
    "queued": ":hourglass_flowing_sand:",
    "admitted": ":rocket:",
    "pending": ":hourglass:",
    "running": ":large_green_circle:",
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
    "stopped": ":black_square_for_stop:",
    "timedout": ":alarm_clock:",
}


def preview_title(name: str | None) -> str:
    return f"Launch `{name}`?" if name else "Launch this job?"


def preview_cancelled() -> str:
    return "Cancelled; nothing was launched."


def launch_submitted(name: str, channel: str | None) -> str:
    where = f" in <#{channel}>" if channel else ""
    return f"Submitted `{name}`; its card is{where} and will follow the job."


def per_node_resources(memory: str | None, cpus: int | None) -> str:
    parts = ([f"{memory} memory"] if memory else []) + ([f"{cpus} CPUs"] if cpus else [])
    return ", ".join(parts)


def stop_preview(names: list[str]) -> str:
    if len(names) == 1:
        return f"Stop `{names[0]}`?"
    return f"Stop these {len(names)} jobs: {', '.join(f'`{n}`' for n in names)}?"


def _names(names: list[str]) -> str:
    return ", ".join(f"`{n}`" for n in names)


def stopped(names: list[str], not_applied: list[str] | None = None, unknown: list[str] | None = None) -> str:
    """The outcome of a stop, job by job: never a sentence without the names it is about."""
    parts = [f"Stopped {_names(names)}."] if names else []
    if not_applied:
        parts.append(f"Could not stop {_names(not_applied)}: the cluster is busy. Try the stop again in a few seconds.")
    if unknown:
        parts.append(f"The cluster did not answer whether {_names(unknown)} stopped; "
                     f"check with `/gpu status {unknown[0]}` in a minute.")
    return " ".join(parts) or stop_cancelled()


def stop_cancelled() -> str:
    return "Nothing was stopped."


def queue_empty() -> str:
    return "The queue is empty: every submitted job is running or finished."


def waiting_reason(gpus: int, gpu_type: str, free: int) -> str:
    return f"waiting for GPUs: needs {gpus} × {gpu_type}, {free} free"


def quota_reason(team: str, used: int, quota: int) -> str:
    return f"team quota full: {used}/{quota} GPUs in use by {team}"


def stopped_by(user: str) -> str:
    return f"stopped by <@{user}>"


def bad_payload() -> str:
    return "Slack sent a request the bot could not read; nothing was done. Try the command again."


def trainer_progress(percent: int, remaining_s: int | None) -> str:
    """A TrainJob's own report (``status.trainerStatus``) on its card."""
    left = f", about {humanize(remaining_s)} left by the trainer's estimate" if remaining_s else ""
    return f"training {percent}% done{left}"


KIND_NAMES = {"job": "Job", "jobset": "JobSet", "trainjob": "TrainJob"}


def creates_kind(kind: str, runtime: str | None = None) -> str:
    """The preview's line on what a confirm creates."""
    if kind == "jobset":
        return "Creates one JobSet (jobset.x-k8s.io): its controller makes the Job, the pods and their DNS names"
    if kind == "trainjob":
        return f"Creates one TrainJob (trainer.kubeflow.org) on the `{runtime}` training runtime"
    return "Creates one Kubernetes Job"
