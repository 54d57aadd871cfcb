"""What the outbound layer queues (one Web API call as a ``Task``), what it counts, and how long a 429 waits."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

PAUSE_CAP_S = 30.0
# What a call sent with ``retry_unsure=False`` resolves to when Slack may or may not have applied it.
UNSURE: dict[str, Any] = {"ok": False, "error": "unsure"}


@dataclass
class Task:
    method: str  # WebClient method name: chat_postMessage, chat_update, views_publish, files_upload_v2...
    kwargs: dict[str, Any]
    lane: str  # what a 429 blocks: the channel, or "view:<user>"
    paced: bool  # a new message: counts against the per-channel pacing
    key: tuple[str, ...] | None = None  # coalescing key
    future: Future[dict[str, Any] | None] | None = None
    origin: float | None = None  # monotonic time of the change this call shows (lag measurement)
    attempts: int = 0
    not_before: float = 0.0
    # a queued post with the same ``supersedes`` key is replaced in place (a job's newer thread reply)
    supersedes: tuple[str, ...] | None = None
    # False: a 5xx or a broken connection is not retried here but answered UNSURE (the call may have
    # been applied; the caller looks before it tries again). 429s are retried: Slack applied nothing.
    retry_unsure: bool = True
    # called once Slack took the call, or refused it for good (not when it only gave up on a busy Slack)
    on_done: Callable[[], None] | None = None


@dataclass
class Stats:
    calls: dict[str, int] = field(default_factory=dict)
    coalesced: int = 0
    rate_limited: int = 0
    retried: int = 0
    dropped: int = 0
    lags: deque[float] = field(default_factory=lambda: deque(maxlen=100_000))


def retry_after(headers: Any) -> float:
    try:
        value = headers.get("Retry-After") or headers.get("retry-after")
        return min(PAUSE_CAP_S, max(0.0, float(value)))
    except (TypeError, ValueError, AttributeError):
        return 1.0
