"""Edit distance for typos in verbs and subcommands ("laucnh", "stpo", "statsu").

Optimal-string-alignment Damerau-Levenshtein: a swap of two neighbouring letters counts one,
as people type. Words are short, so the plain dynamic programme is fast enough (a few µs).
"""

from __future__ import annotations

from collections.abc import Iterable


def distance(a: str, b: str, limit: int = 3) -> int:
    """Edits (insert, delete, substitute, swap neighbours) from ``a`` to ``b``; ``limit`` + 1 when over."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def allowed_edits(word: str) -> int:
    """How many slips a word of this length may carry and still be recognised (none for short words)."""
    return 0 if len(word) <= 2 else 1 if len(word) <= 4 else 2


def closest(word: str, choices: Iterable[str], most: int | None = None) -> str | None:
    """The one choice within ``most`` edits (by default what ``word``'s length allows); None when
    none is, or two are equally close."""
    word = word.lower()
    best: list[tuple[int, str]] = []
    most = allowed_edits(word) if most is None else most
    for choice in choices:
        if choice == word:
            return choice
        d = distance(word, choice, most)
        if d <= most:
            best.append((d, choice))
    if not best:
        return None
    best.sort()
    if len(best) > 1 and best[0][0] == best[1][0]:
        return None
    return best[0][1]
