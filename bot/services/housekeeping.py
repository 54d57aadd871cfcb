"""A small pass beside the dispatcher, every second (``Periodic`` in the composition root): dependencies
followed (``DependencyPass``), the "time limit near" notice once per job and time limit with its [+2 h]
button, and (hourly) finished jobs past the policy's retention forgotten.

Every step is a compare-and-set or a once-only mark, so several replicas may run it at once.
"""

from __future__ import annotations

import logging
from typing import Protocol

from bot.domain.jobs import JobRecord
from bot.render import job_control as render
from bot.services.dependencies import DependencyPass, DepPorts
from bot.services.needs import HasNoticeMarks, HasPolicy

log = logging.getLogger(__name__)

NOTICE_BEFORE_S = 30 * 60  # the notice comes this long before the deadline
RETENTION_EVERY_S = 3600.0  # finished jobs past the policy's retention are forgotten this often


class HousekeepingPorts(DepPorts, HasNoticeMarks, HasPolicy, Protocol): ...


class Housekeeping:
    def __init__(self, rt: HousekeepingPorts) -> None:
        self.rt = rt
        self.dependencies = DependencyPass(rt)
        self._retention_at = 0.0

    def run_pass(self) -> None:
        self.dependencies.run_pass()
        self.deadline_notices()
        now = self.rt.clock()
        if now - self._retention_at >= RETENTION_EVERY_S:
            self._retention_at = now
            self.expire()

    def expire(self) -> int:
        """Forget finished jobs older than the policy's ``retention`` (history and reports end there)."""
        return self.rt.store.forget_finished(self.rt.clock() - self.rt.policy.retention)

    def deadline_notices(self) -> list[str]:
        """Tell the owners of running jobs within ``NOTICE_BEFORE_S`` of their deadline; returns their keys."""
        now = self.rt.clock()
        told: list[str] = []
        for r in self.rt.store.list(states=("running",), limit=100_000):
            left = _left(r, now)
            if left is None or not 0 < left <= NOTICE_BEFORE_S or not (r.channel and r.card_ts):
                continue
            if not self.rt.notice_marks.first(r.key, f"limit-near:{r.time_limit_s}"):
                continue  # told already, for this time limit (an extension earns a new notice)
            self.rt.cards.reply_in_thread(r.channel, r.card_ts, render.time_limit_near(r, left))
            told.append(r.key)
        return told


def _left(r: JobRecord, now: float) -> float | None:
    start = r.started_at
    return None if start is None else start + r.time_limit_s - now
