"""Fair share: each team's decayed GPU-hours against its share of the quotas (Slurm's classic factor).

Usage decays with a half-life so that last week's burst weighs less than this morning's. A team's
normalised usage ``U`` (its decayed GPU-hours over everyone's) is compared with its normalised share
``S`` (its quota over the sum of quotas): the queue orders teams by ``U / S`` ascending, which is the
same order as Slurm's factor ``2 ** (-U / S)`` descending. Pure: the dispatcher keeps the numbers in
Redis and hands them in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

LN2 = math.log(2.0)


@dataclass(frozen=True)
class Usage:
    """A team's decayed GPU-hours as of ``at`` (epoch seconds)."""

    gpu_hours: float = 0.0
    at: float | None = None  # None: never measured yet


def decay_factor(elapsed_s: float, half_life_s: float) -> float:
    if elapsed_s <= 0:
        return 1.0
    return float(2.0 ** (-elapsed_s / half_life_s))


def accrue(usage: Usage, gpus_held: float, now: float, half_life_s: float) -> Usage:
    """Usage at ``now`` after holding ``gpus_held`` GPUs since ``usage.at``.

    The held GPUs are integrated under the same decay (not just added at the end), so one long
    interval and many short ones give the same result: passes can run at any rhythm.
    """
    if usage.at is None:  # first sight of the team: nothing to decay, nothing measured yet
        return Usage(usage.gpu_hours, now)
    dt = now - usage.at
    if dt <= 0:
        return usage
    d = decay_factor(dt, half_life_s)
    # ∫_0^dt G · 2^(-(dt - s)/h) ds = G · h / ln2 · (1 - d), in seconds → hours
    added = gpus_held * half_life_s / LN2 * (1.0 - d) / 3600.0
    return Usage(usage.gpu_hours * d + added, now)


def share_ratios(usage: Mapping[str, float], quotas: Mapping[str, int]) -> dict[str, float]:
    """``U / S`` per team with a quota: 0 for a team that used nothing, 1 for exactly its share."""
    total_usage = sum(max(0.0, usage.get(t, 0.0)) for t in quotas)
    total_quota = sum(quotas.values())
    out: dict[str, float] = {}
    for team, quota in quotas.items():
        if total_usage <= 0 or total_quota <= 0 or quota <= 0:
            out[team] = 0.0 if quota > 0 else math.inf
            continue
        u = max(0.0, usage.get(team, 0.0)) / total_usage
        out[team] = u / (quota / total_quota)
    return out


def factor(ratio: float) -> float:
    """Slurm's fair-share factor in (0, 1]: 1 for an idle team, 0.5 at exactly its share."""
    return float(2.0 ** (-ratio)) if math.isfinite(ratio) else 0.0
