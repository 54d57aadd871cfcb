"""Cutting text to a size limit so that the cut shows: a clipped text ends in "…"."""

from __future__ import annotations

ELLIPSIS = "…"


def clip(text: str, limit: int) -> str:
    """``text`` when it fits in ``limit`` characters, else its head ending in "…" (``limit`` long at most)."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    return text[: limit - 1].rstrip() + ELLIPSIS


def clip_code(text: str, limit: int) -> str:
    """A `code span` clipped inside its backticks, so the closing one is never the part cut away."""
    return f"`{clip(text, max(1, limit - 2))}`"
