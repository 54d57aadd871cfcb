"""A controller's thread: started and stopped once each, woken early by a change (``_wake``)."""

from __future__ import annotations

import threading


class ControllerLoop:
    """Subclasses write ``_run`` as ``while not self._stop.is_set(): ...`` waiting on ``self._wake``."""

    thread_name = "sim-controller"

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        raise NotImplementedError
