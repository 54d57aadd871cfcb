"""Requests the person has not made yet: two readings joined by "or" ("status or logs of ft-9",
"stop or restart x", "4 or 8 GPUs", "ab-1 or ab-2"), "either ... or", a negated verb ("don't stop
x") and a question of advice ("should I stop x?").

The bot must not pick for them: it asks, with the exact commands when the readings are commands.
Synonyms ("stop or cancel x") are one reading, not two.
"""

from __future__ import annotations

import re

from bot.domain import messages as msg
from bot.domain.language.numbers import GPU_TYPE

# Verbs people offer as alternatives, and the subcommand each one is (None: not one of ours).
_VERB_ACTION: dict[str, str | None] = {
    **dict.fromkeys(("launch", "start", "run", "submit", "rerun", "relaunch"), "launch"),
    **dict.fromkeys(("stop", "cancel", "kill", "terminate", "delete", "abort"), "stop"),
    **dict.fromkeys(("status", "check"), "status"),
    **dict.fromkeys(("logs", "log"), "logs"),
    **dict.fromkeys(("restart", "resume", "pause", "extend", "requeue", "hold", "release", "keep", "wait"), None),
}
_VERBS = "|".join(sorted(_VERB_ACTION, key=len, reverse=True))
_VERB_OR = re.compile(
    rf"\b({_VERBS})\b(?:\s+(?:of\s+|for\s+)?[a-z0-9][\w.-]*)?\s*,?\s+or\s+(?:just\s+|should\s+i\s+)?({_VERBS})\b"
)
_UNIT = rf"(?:x\s*)?(?:gpus?|nodes?|cards?|hours?|hrs?|h|days?|d|minutes?|mins?|{GPU_TYPE})"
_VALUE_OR = re.compile(rf"(?<![\w.-])(\d+(?:\.\d+)?)\s*(?:{_UNIT})?\s+or\s+(\d+(?:\.\d+)?)\s*({_UNIT})(?![\w-])")
_TYPE_OR = re.compile(rf"(?<![\w-])({GPU_TYPE})\s+or\s+(?:an?\s+|the\s+)?({GPU_TYPE})(?![\w-])")


def verb_alternatives(low: str, job: str | None) -> str | None:
    """The question to ask when two different actions are offered ("start ft-9 or stop it?")."""
    m = _VERB_OR.search(low)
    if not m:
        return None
    first, second = m.group(1), m.group(2)
    a, b = _VERB_ACTION[first], _VERB_ACTION[second]
    if a is not None and a == b:
        return None  # "stop or cancel": one reading
    commands = [f"/gpu {x} {job}" if job and x != "launch" else f"/gpu {x}" for x in (a, b) if x]
    return msg.clarify_which_action(first, second, job, commands)


def value_alternatives(low: str) -> str | None:
    """The question to ask when a launch offers two values of one field ("4 or 8 GPUs")."""
    m = _VALUE_OR.search(low)
    if m:
        return msg.clarify_which_value(m.group(1), m.group(2), m.group(3))
    t = _TYPE_OR.search(low)
    if t:
        return msg.clarify_which_value(t.group(1), t.group(2), "GPU type")
    return None


_NAME = r"(?:[a-z][a-z0-9.]*-[a-z0-9.-]*[a-z0-9]|[a-z]+[0-9][a-z0-9.-]*)"
_NAME_OR = re.compile(rf"(?<![\w.-])({_NAME})\s*,?\s+or\s+({_NAME})(?![\w-])")
_EITHER = re.compile(r"\beither\b.+\bor\b|\bwhichever\s+you\s+(?:think|prefer)\b|\byour\s+call\b")
_NEGATED = re.compile(
    r"^\s*(?:please\s+)?(?:don'?t|do\s+not|dont|never|no\s+need\s+to|not\s+yet)\s+(?:\w+\s+)?"
    r"(?:stop|cancel|kill|terminate|delete|launch|start|run|submit|abort|remove)\b"
)
# "should I stop x?": a question to the person themself; acting on it would decide for them
_SHOULD_I = re.compile(
    r"^\s*(?:should|shall|must)\s+(?:i|we)\s+(?:\w+\s+)?(?:stop|cancel|kill|terminate|launch|start|run|submit)\b"
)


def undecided(low: str, intent: str, job: str | None) -> str | None:
    """The question to ask back when ``low`` does not yet ask for one action, else None."""
    if _NEGATED.search(low):
        return msg.clarify_negated()
    either = verb_alternatives(low, job)
    if either is None and intent in ("launch", "stop", "status", "logs"):
        either = value_alternatives(low) if intent == "launch" else None
        names = _NAME_OR.search(low)
        if either is None and names:
            verb = intent
            either = msg.clarify_which_action(
                f"{verb} `{names.group(1)}`", f"`{names.group(2)}`", None,
                [f"/gpu {verb} {names.group(1)}", f"/gpu {verb} {names.group(2)}"])
    if either is None and _EITHER.search(low):
        either = msg.clarify_undecided()
    return either


def asks_should_i(low: str) -> bool:
    """"should I stop x?": answered with the command to send, not done."""
    return bool(_SHOULD_I.search(low))
