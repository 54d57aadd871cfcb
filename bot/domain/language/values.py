"""Value normalisation shared by the `/gpu` grammar and the sentence parser (Slack markup is the
scanner's, ``scanner.py``).

Both front doors must turn "NVIDIA H100" or "urgent" into the same field value, so the tables
live here once.
"""

from __future__ import annotations

import re

from bot.domain.actions import JOB_STATES, KNOWN_GPU_MODELS, JobState, Priority

_GPU_SUFFIX = re.compile(r"(?:sxm\d*|pcie|nvl|\d+gb|gb)+s?")


def normalize_gpu_type(raw: str) -> str:
    """ "NVIDIA H100", "h100-80gb", "A100s" → "h100"/"a100"; unknown types are kept, normalised."""
    s = raw.strip().lower().replace("_", "-")
    s = re.sub(r"\b(?:nvidia|tesla|geforce)\b", " ", s).strip(" -")
    s = re.sub(r"\s*gpus?$", "", s).strip(" -")
    parts = [p for p in re.split(r"[\s-]+", s) if p]
    if not parts:
        return raw.strip().lower()
    head = parts[0]
    if head in KNOWN_GPU_MODELS:
        return head
    if head.endswith("s") and head[:-1] in KNOWN_GPU_MODELS:
        return head[:-1]
    for model in sorted(KNOWN_GPU_MODELS, key=len, reverse=True):
        if head.startswith(model) and _GPU_SUFFIX.fullmatch(head[len(model) :]):
            return model
    return "-".join(parts)


PRIORITY_WORDS: dict[str, Priority] = {
    "low": "low", "normal": "normal", "high": "high",
    "urgent": "high", "asap": "high", "hi": "high", "top": "high", "critical": "high",
    "lo": "low", "best-effort": "low", "besteffort": "low", "whenever": "low", "background": "low",
    "default": "normal", "medium": "normal", "med": "normal",
}  # fmt: skip

STATE_WORDS: dict[str, JobState] = {s: s for s in JOB_STATES} | {
    "pending": "queued", "waiting": "queued", "queue": "queued",
    "active": "running", "run": "running", "started": "running",
    "finished": "succeeded", "completed": "succeeded", "complete": "succeeded", "done": "succeeded",
    "success": "succeeded", "successful": "succeeded", "succeed": "succeeded",
    "error": "failed", "errored": "failed", "crashed": "failed", "fail": "failed", "crash": "failed",
    "cancelled": "stopped", "canceled": "stopped", "killed": "stopped", "terminated": "stopped",
    "stop": "stopped",
}  # fmt: skip


def suggest_env_name(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_]", "_", name) or "VAR"
    return "_" + s if s[0].isdigit() else s


WORD_NUMBERS: dict[str, int] = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
    "hundred": 100, "single": 1, "dozen": 12,
}  # fmt: skip
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")


def word_to_int(word: str) -> int | None:
    """ "eight" → 8, "sixty-four" → 64, "12" → 12; None when it is not a number."""
    w = word.strip().lower()
    if w.isdigit():
        return int(w)
    if w in WORD_NUMBERS:
        return WORD_NUMBERS[w]
    parts = re.split(r"[\s-]+", w)
    if len(parts) == 2 and parts[0] in _TENS and parts[1] in WORD_NUMBERS and WORD_NUMBERS[parts[1]] < 10:
        return WORD_NUMBERS[parts[0]] + WORD_NUMBERS[parts[1]]
    return None


UNIT_SECONDS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Spelled-out units people write; the first letter is the grammar unit except for months (none).
UNIT_WORD = r"(?:weeks?|wks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)"
_LOOSE = re.compile(rf"(\d+(?:\.\d+)?)\s*({UNIT_WORD})")


def unit_seconds(unit: str) -> int:
    u = unit.lower()
    return UNIT_SECONDS["w" if u.startswith("w") else u[0]]


def loose_duration(text: str) -> int | None:
    """Seconds in "6 hours", "90min", "1h 30m"; None when ``text`` is not only a duration."""
    s = text.strip().lower().replace(" and ", " ")
    parts = list(_LOOSE.finditer(s))
    if not parts or re.sub(r"[\s,]+", "", _LOOSE.sub("", s)):
        return None
    seconds = round(sum(float(m.group(1)) * unit_seconds(m.group(2)) for m in parts))
    return seconds if seconds > 0 else None


_CLOCK = re.compile(r"(?:(\d{1,3})-)?(\d{1,3}):(\d{2})(?::(\d{2}))?")


def clock_duration(text: str) -> int | None:
    """Slurm's time forms: "08:00:00", "1:30:00", "2-00:00:00" (days-hours:minutes:seconds), "90:00"
    (minutes:seconds is Slurm's reading of two parts; hours:minutes is what people mean by "1:30",
    so two parts are read as hours:minutes). None when ``text`` is not one of them."""
    m = _CLOCK.fullmatch(text.strip())
    if not m:
        return None
    days, a, b, c = (int(g) if g else 0 for g in m.groups())
    seconds = days * 86400 + (a * 3600 + b * 60 + c)
    return seconds if seconds > 0 else None
