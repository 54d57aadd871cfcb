"""Durations as the `/gpu` grammar and the policy file write them: ``6h``, ``90m``, ``1.5h``, ``1h30m``, ``2d``."""

from __future__ import annotations

import re

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?[smhdw])+")


def parse_duration(text: str) -> int:
    """Seconds in ``text`` (``"6h"`` → 21600). Raises ``ValueError`` with the reason."""
    s = text.strip().lower()
    if not s:
        raise ValueError("empty duration")
    if s.isdigit():
        raise ValueError(f"'{text}' has no unit; write e.g. {s}h, {s}m or {s}d")
    if not _WHOLE.fullmatch(s):
        raise ValueError(f"'{text}' is not a duration; write e.g. 30m, 6h, 1.5h, 1h30m or 2d")
    total = sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(s))
    seconds = round(total)
    if seconds <= 0:
        raise ValueError(f"'{text}' must be longer than zero")
    return seconds


def format_duration(seconds: int) -> str:
    """The shortest grammar form: 21600 → ``6h``, 5400 → ``1h30m``, 172800 → ``2d``."""
    if seconds <= 0:
        return "0s"
    parts = []
    for unit in ("d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n}{unit}")
    return "".join(parts)


def humanize(seconds: float) -> str:
    """For people: ``2 h 10 min``, ``45 s``, ``3 d 4 h``."""
    s = max(0, int(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    if d:
        return f"{d} d {h} h" if h else f"{d} d"
    if h:
        return f"{h} h {m} min" if m else f"{h} h"
    if m:
        return f"{m} min"
    return f"{sec} s"
