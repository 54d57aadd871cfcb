"""A background pass every few seconds (group refresh, approval expiry) on its own daemon thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from bot.domain.errors import BackendError

log = logging.getLogger(__name__)


class Periodic:
    """Call ``work`` every ``every_s`` seconds on a daemon thread until stopped (its errors are logged)."""

    def __init__(self, name: str, every_s: float, work: Callable[[], object]) -> None:
        self.name = name
        self.every_s = every_s
        self.work = work
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            try:
                self.work()
            except BackendError as err:
                log.warning("%s: %s", self.name, err)
            except Exception:  # a background loop must outlive one bad pass; the bug is logged whole
                log.exception("%s failed", self.name)
