"""What the bot says about Kueue's decisions, in the person's words (Kueue's own text kept for detail)."""

from __future__ import annotations

_GPU = "nvidia.com/gpu"


def kueue_waiting(shortfall: list[tuple[str, str, str]], kueue_message: str) -> str:
    """A Workload Kueue cannot admit yet; ``shortfall`` is what its message says is missing."""
    gpus = [(flavor, n) for res, flavor, n in shortfall if res == _GPU]
    if gpus:
        flavor, n = gpus[0]
        return (f"waiting: {n} more {flavor} GPUs needed — your team's quota and the GPUs it may borrow are in "
                f"use (Kueue: insufficient unused quota for {_GPU} in flavor {flavor}, {n} more needed)")
    if shortfall:
        res, flavor, n = shortfall[0]
        return f"waiting: {n} more {res} needed in flavor {flavor} (Kueue)"
    return f"waiting for Kueue: {kueue_message}" if kueue_message else "waiting for Kueue to admit it"


def kueue_preempted(preempted_in: str | None, by_team: str | None) -> str:
    """A running job Kueue evicted to make room, and put back in its queue."""
    team = f"team {by_team}" if by_team else "another team"
    if preempted_in == "InClusterQueue":
        return "preempted by a higher-priority workload of your team, requeued"
    if preempted_in and preempted_in.startswith("InCohort"):
        return f"preempted: {team} reclaimed the GPUs your team had borrowed, requeued"
    return f"preempted by a higher-priority workload of {team}, requeued"


def kueue_deactivated(reason: str) -> str:
    if reason == "DeactivatedDueToMaximumExecutionTimeExceeded":
        return "stopped by Kueue: it reached its time limit (maximum execution time)"
    return "held: deactivated in Kueue (spec.active is false)"


def kueue_position(position: int, queue: str) -> str:
    return f"#{position + 1} in Kueue's queue {queue}"


def kueue_no_estimate() -> str:
    return "no estimate: Kueue decides when it starts"


def kueue_submitted() -> str:
    return "submitted to Kueue: waiting for its decision"
