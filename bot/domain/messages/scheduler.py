"""User-facing text: scheduler."""

from __future__ import annotations

# --- scheduler -----------------------------------------------------------------------------------


def sched_needs(gpus: int, gpu_type: str, free: int) -> str:
    return f"needs {gpus} × {gpu_type}, {free} free"


def _team_use(team: str, used: int, quota: int, borrowed: int) -> str:
    if not borrowed:
        return f"team quota full: {used}/{quota} GPUs in use by {team}"
    return (f"team quota full: {team} holds {used + borrowed} GPUs ({used}/{quota} within quota, "
            f"{borrowed} borrowed)")


def sched_quota(team: str, used: int, quota: int, borrowed: int = 0, gpus: int = 0, gpu_type: str = "") -> str:
    if not borrowed or not gpus:
        return _team_use(team, used, quota, borrowed)
    return (f"{_team_use(team, used, quota, borrowed)}; starts when the team's jobs end or {gpus} × {gpu_type} "
            "are idle to borrow")


def sched_idle_only(team: str, used: int, quota: int, gpus: int, gpu_type: str, borrowed: int = 0) -> str:
    return (f"{_team_use(team, used, quota, borrowed)}; starts over quota (preemptible) once {gpus} × {gpu_type} "
            "are idle")


def sched_behind(ahead: int, priority: str | None) -> str:
    jobs = "job" if ahead == 1 else "jobs"
    if priority:
        return f"behind {ahead} {priority}-priority {jobs}"
    return f"behind {ahead} earlier {jobs} for the same GPUs"


def sched_draining(gpus: int, gpu_type: str) -> str:
    return f"needs {gpus} × {gpu_type}: preempted jobs are checkpointing and exiting"


def sched_later(depth: int) -> str:
    return f"more than {depth} jobs are ahead of it: its start is estimated once it is closer to the front"


def sched_preempting(count: int) -> str:
    return f"making room: preempting {count} preemptible job{'s' if count != 1 else ''}"


def preempted_reason(for_job: str, grace_s: int) -> str:
    return (f"preempted to make room for `{for_job}` (within its team's quota); it had {grace_s} s to "
            "checkpoint and is back in the queue at its old place")


def over_quota_note() -> str:
    return "over quota · preemptible"


STARTING_MAKING_ROOM = "starting: making room"


def eta_text(eta: float | None, now: float) -> str:
    """``14:05 UTC (in 2 h 10 min)``; ``unknown`` when the job does not start within the horizon."""
    import time as _time  # formatting only: no clock is read here

    if eta is None:
        return "not within the next days"
    wait = max(0, int(eta - now))
    if wait < 60:
        return "now"
    hours, minutes = divmod((wait + 30) // 60, 60)  # to the nearest minute
    days, hours = divmod(hours, 24)
    parts = [f"{days} d"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes and not days else []
    clock = _time.strftime("%H:%M UTC" if days == 0 else "%a %H:%M UTC", _time.gmtime(eta))
    return f"{clock} (in {' '.join(parts) or '1 min'})"


def queue_title(count: int) -> str:
    return f"The queue, in order: {count} job{'s' if count != 1 else ''}"


def queue_more(hidden: int) -> str:
    return f"… and {hidden} more queued job{'s' if hidden != 1 else ''} not shown."


def mended(key: str, what: str) -> str:
    return f"mended {key}: {what}"


MENDED_CREATED = "admitted in Redis but missing in Kubernetes: created it"
MENDED_RUNNING = "running in Kubernetes but queued in Redis: marked running"
MENDED_GONE = "the Kubernetes Job disappeared (deleted outside the bot)"
