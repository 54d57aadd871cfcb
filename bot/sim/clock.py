"""Simulated time: wall-clock epoch seconds that run ``speed`` times faster than real time."""

from __future__ import annotations

import time
from datetime import UTC, datetime


class SimClock:
    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._real0 = time.monotonic()
        self._sim0 = time.time()

    def now(self) -> float:
        return self._sim0 + (time.monotonic() - self._real0) * self.speed

    def iso(self, t: float | None = None) -> str:
        return datetime.fromtimestamp(self.now() if t is None else t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def real_seconds(self, sim_seconds: float) -> float:
        return max(0.0, sim_seconds / self.speed)
