"""Sentences for the verbs Slurm users bring: extend, hold, release, requeue, history, report.

Read before the general intent rules and only on clear evidence (the verb and, where it acts on jobs,
a job's name); anything else is left to them (None).
"""

from __future__ import annotations

import re

from bot.domain import messages as msg
from bot.domain.actions import Action, Clarify, Extend, History, Hold, Release, Report, ReportBy, Requeue, Scope
from bot.domain.language.values import STATE_WORDS

_RELEASE = re.compile(r"\b(?:release|unhold|un-hold|off\s+hold|lift\s+the\s+hold)\b")
_HOLD = re.compile(r"\b(?:hold(?!\s+on\b)|on\s+hold|keep\b.*\bfrom\s+starting|don'?t\s+(?:let\b.*\b)?start)\b")
_REQUEUE = re.compile(r"\b(?:requeue|re-queue|(?:put|send|move)\b.*\bback\s+(?:in(?:to)?|on|to)\s+(?:the\s+)?queue)\b")
_EXTEND = re.compile(
    r"\b(?:extend|prolong|more\s+time|longer\s+time\s+limit|raise\s+(?:the\s+|its\s+)?time\s+limit|"
    r"(?:add|give)\b.*\b(?:hours?|minutes?|days?|h|m|d)\b.*\b(?:to|for|on)\b|"
    r"\d+(?:\.\d+)?\s*(?:more|extra)\s+(?:hours?|minutes?|days?)|more\s+(?:hours?|minutes?|days?))\b"
)
_HISTORY = re.compile(
    r"(?<![\w-])(?:history|past\s+jobs|jobs\s+(?:i|we)\s+(?:ran|have\s+run)|what\s+(?:did|have)\s+"
    r"(?:i|we|my\s+team|our\s+team|the\s+team)\s+(?:run|ran)\b(?=.*\b(?:last|past|over|since|this|yesterday)\b))(?![\w-])"
)
_NOT_HISTORY = re.compile(r"\b(?:usage|utili[sz]ation|allocation|chart|graph)\b")
_REPORT = re.compile(
    r"(?<![\w-])(?:report|how\s+much\s+(?:did|have|has)\s+(?:we|i|the\s+team|my\s+team|our\s+team)\s+"
    r"(?:spen[dt]|cost)|(?:our|my|the\s+team'?s?|team)\s+(?:spend|spending|costs?)|"
    r"gpu[\s-]hours?\s+(?:report|by|per|used|last|this|for))(?![\w-])"
)
_DAYS = re.compile(r"\b(?:last|past|previous)\s+(\d+)\s*(?:days?|d)\b|(?:--days\s+|\bdays\s*=\s*)(\d+)\b")
_WEEK = re.compile(r"\b(?:last|past|this)\s+week\b")
_MONTH = re.compile(r"\b(?:last|past|this)\s+month\b")
_BY_USER = re.compile(r"\b(?:by|per|for\s+each)\s+(?:user|person|people|researcher)s?\b")
_BY_TYPE = re.compile(r"\b(?:by|per|for\s+each)\s+(?:gpu(?:[\s-]type)?|type|model)s?\b")
_HOURS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:more\s+|extra\s+)?(h|hours?|hrs?|m|min(?:ute)?s?|d|days?)\b")


def _days(low: str) -> int | None:
    if m := _DAYS.search(low):
        return max(1, int(m.group(1) or m.group(2)))
    if _WEEK.search(low):
        return 7
    if _MONTH.search(low):
        return 30
    return None


def _scope(low: str) -> Scope:
    if m := re.search(r"\bscope\s*=\s*(mine|team|all)\b|--(mine|team|all)\b", low):
        word = m.group(1) or m.group(2)
        return "all" if word == "all" else "team" if word == "team" else "mine"
    if re.search(r"\b(?:everyone|everybody|all\s+teams|whole\s+cluster)\b", low):
        return "all"
    if re.search(r"\b(?:team|our|we)\b", low):
        return "team"
    return "mine"


def _amount(low: str, taken: int | None) -> int | None:
    if taken:
        return taken
    m = _HOURS.search(low)
    if not m:
        return None
    unit = m.group(2)[0]
    return round(float(m.group(1)) * {"h": 3600, "m": 60, "d": 86400}[unit])


def slurm_sentence(low: str, names: list[str], duration_s: int | None, raw: str = "") -> Action | None:
    """The action of ``low`` (normalised, lower-case) for these verbs, or None when it is not one.
    ``raw``: the sentence as written, lower-cased (a grouping "by user" is not an identity claim)."""
    jobs = tuple(names)
    if _RELEASE.search(low) and jobs:
        return Release(jobs=jobs)
    if _REQUEUE.search(low) and jobs:
        return Requeue(jobs=jobs)
    if _HOLD.search(low) and jobs:
        return Hold(jobs=jobs)
    if _EXTEND.search(low):
        if not jobs:
            return Clarify(question=msg.clarify_which_job("extend"))
        amount = _amount(low, duration_s)
        return Extend(job=jobs[0], by_s=amount) if amount else Clarify(question=msg.parse_extend_usage())
    # history and report take no job: a "name" found in the sentence is one of their own words
    if _HISTORY.search(low) and not _NOT_HISTORY.search(low):
        found = [STATE_WORDS[w] for w in re.findall(r"[a-z]+", low) if w in STATE_WORDS]
        state = next((s for s in found if s in ("succeeded", "failed", "stopped")), None)
        return History(scope=_scope(low), state=state, days=_days(low) or 7)
    if _REPORT.search(low):
        said = raw or low
        by: ReportBy = "user" if _BY_USER.search(said) else "gpu_type" if _BY_TYPE.search(said) else "team"
        return Report(by=by, since_s=(_days(low) or 30) * 86400)
    return None
