"""Which objects one watch follows: a kind and its selectors."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WatchSpec:
    kind: str  # "jobs" | "pods" | "events"
    label_selector: str | None = None
    field_selector: str | None = None
