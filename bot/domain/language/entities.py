"""Things named in sentences: images, job names, templates, priority, scope and state. Identity
words ("as admin", "in kube-system") are dropped here: the text never chooses who or where. Code
spans and key=value words are read in ``marked.py``.
"""

from __future__ import annotations

import re

from bot.domain.actions import JobState, Priority, Scope
from bot.domain.language.values import STATE_WORDS
from bot.domain.names import MAX_JOB_NAME, image_problem, suggest_job_name

# Words that are never a job name (English glue and this domain's own vocabulary).
VOCAB: frozenset[str] = frozenset(
    """
    a an the my our your their his her its me i we you us it this that these those some any all
    every everything everyone everyones everybody each one ones of for with on in into at to from by
    and or but not no yes please pls thanks thank kindly just also again now right today currently
    still already then here there up down out off over about via as is are was were be been being am
    do does did done doing have has had will would can could should may might must shall what whats
    which who whom whose when where why how hows whats it's its if so than too very really job jobs
    run runs running ran training train trains trained task tasks workload workloads experiment
    experiments model models something anything nothing thing stuff new another other same last
    latest recent previous first next current gpu gpus node nodes card cards cluster launch start
    starts started starting stop stopped stopping cancel cancelled canceled kill killed terminate
    terminated abort halt delete remove end submit kick kicked kickoff queue queued pending status
    state progress logs log output lines tail show list see check give get tell want need like let
    make create spin set using use used called named name template image container env environment
    variable variables time limit hours hour minutes minute days day priority high low normal urgent
    asap whenever effort best failed failing succeeded finished completed complete crashed crash
    died broken team mine free available idle busy doing going going fine-tune fine-tuning finetune
    finetuning fine tune tuning job's help usage command commands script python single couple few
    many much more less it's i'm i'd i'll let's hi hello hey ok okay sure quick quickly fast asap
    soon tonight overnight tomorrow them those these they finish succeed fail complete go went
    happen happened became become news update updates apiece piece total overall altogether combined
    fire going wipe clear rid drop across w whole both either neither stage phase step
    left longer remaining channel maybe perhaps probably later actually
    """.split()  # noqa: SIM905 - a word list reads better as text
)

# "as admin", "for user U123", "in kube-system", "in namespace prod": identity never comes from text.
_IDENTITY = re.compile(
    r"\b(?:as|impersonating|on\s+behalf\s+of)\s+(?:the\s+)?(?:user\s+|an?\s+)?"
    r"(?:<?@?[a-z0-9._-]*admin\w*|root|superuser|sudo|u[a-z0-9]{2,}>?|@?[a-z0-9._-]+>?(?=\s+user))"
    r"|\b(?:of|by|from|belonging\s+to|owned\s+by)\s+(?:the\s+)?(?:user|account)\s+<?@?[a-z0-9._-]+>?"
    r"|\bfor\s+(?:the\s+)?(?:user|team|account)\s+(?!(?:please|pls|plz|thanks|thx|now|today|jobs?|runs?|and|too|only|"
    r"that|which|i|we|as|in|on|from|over|during|this|last|since)\b)<?@?[a-z0-9._-]+>?"
    r"|\b(?:in|into|to|from|on)\s+(?:the\s+)?(?:namespace|ns|project)\s+[a-z0-9._-]+(?:\s+namespace)?"
    r"|\b(?:in|into|to|from|on)\s+(?:the\s+)?kube-[a-z0-9-]+(?:\s+namespace)?"
    r"|\b(?:in|into|to|from|on)\s+(?:the\s+)?[a-z0-9-]+\s+namespace\b"
    r"|\bwith\s+sudo\b|\bsudo\b"
)
_INJECTION = re.compile(
    r"\b(?:ignore|disregard|forget)\s+(?:all\s+)?(?:of\s+)?(?:the\s+|your\s+|any\s+)?"
    r"(?:previous|prior|above|earlier|preceding|system|your)?\s*"
    r"(?:instructions?|rules?|prompts?|polic(?:y|ies)|guidelines?|restrictions?)\b"
    r"|\byou\s+are\s+now\b[^.,;]*|\bsystem\s+prompt\b|\bdeveloper\s+mode\b|\bjailbreak\b|\bpretend\s+(?:to\s+be|you)\b[^.,;]*"
)


def is_injection(low: str) -> bool:
    """Boilerplate that tries to steer the bot ("ignore previous instructions"): the request is refused."""
    return bool(_INJECTION.search(low))


def strip_identity(low: str) -> tuple[str, bool]:
    """Drop identity/namespace phrases and injection boilerplate; report whether any was there."""
    out = _IDENTITY.sub(" ", low)
    out = _INJECTION.sub(" ", out)
    return out, out != low


_IMAGE_TOKEN = re.compile(
    r"(?<![\w@/.:-])([A-Za-z0-9][\w.-]*(?::\d+)?/[\w./-]*[\w](?::[\w][\w.-]*)?(?:@sha256:[0-9a-f]{32,})?)"
)
_IMAGE_AFTER_WORD = re.compile(
    r"\b(?:image|container)\s*[:=]?\s+([a-z0-9][\w.-]*(?::[\w][\w.-]*)?)(?![\w/])", re.I
)


def take_image(text: str) -> tuple[str | None, str]:
    for pat in (_IMAGE_TOKEN, _IMAGE_AFTER_WORD):
        for m in pat.finditer(text):
            ref = m.group(1).rstrip(".,;:)")
            if "://" in text[m.start(1) : m.end(1) + 3] or ref.lower() in VOCAB:
                continue
            if image_problem(ref) is None:
                return ref, text[: m.start(1)] + " " + text[m.start(1) + len(ref) :]
    return None, text


_PRIO_HIGH = re.compile(
    r"\b(?:urgent(?:ly)?|asap|a\.s\.a\.p|as\s+soon\s+as\s+possible|high[\s-]?(?:priority|prio)|"
    r"priority\s*[:=]?\s*high|top\s+priority|critical|rush)\b"
)
_PRIO_LOW = re.compile(
    r"\b(?:low[\s-]?(?:priority|prio)|priority\s*[:=]?\s*low|best[\s-]?effort|whenever|no\s+rush|"
    r"not\s+urgent|(?:in\s+the\s+)?background|when(?:ever)?\s+(?:there(?:'s|\s+is)|gpus?\s+are)\s+\w+|"
    r"no\s+hurry)\b"
)
_PRIO_NORMAL = re.compile(
    r"\b(?:normal|default|medium)[\s-]?(?:priority|prio)\b|\bpriority\s*[:=]?\s*normal\b"
)


def take_priority(low: str) -> tuple[Priority | None, str]:
    low = _HYPHENATED.sub(lambda m: m.group(0).replace("-", "\u16a0"), low)  # "urgent-fix" is a name
    found: tuple[Priority | None, str] = (None, low)
    for pat, prio in ((_PRIO_LOW, "low"), (_PRIO_NORMAL, "normal"), (_PRIO_HIGH, "high")):
        m = pat.search(low)
        if m:
            value: Priority = "low" if prio == "low" else "normal" if prio == "normal" else "high"
            found = value, low[: m.start()] + " " + low[m.end() :]
            break
    return found[0], found[1].replace("\u16a0", "-")


# Hyphenated tokens other than the priority phrases themselves ("high-priority", "best-effort").
_HYPHENATED = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+(?<!high-priority)(?<!low-priority)(?<!best-effort)")


_TEMPLATES = (
    re.compile(r"\btemplate\s*(?:called|named|:|=)?\s*[\"']?([a-z0-9][a-z0-9._-]*)"),
    re.compile(r"\b(?:the\s+)?([a-z0-9][a-z0-9._-]*)\s+template\b"),
)


def take_template(low: str) -> tuple[str | None, str]:
    for pat in _TEMPLATES:
        for m in pat.finditer(low):
            name = m.group(1)
            if name not in VOCAB and not name.isdigit():
                return name, low[: m.start()] + " " + low[m.end() :]
    return None, low


_NAME_TOKEN = re.compile(r"(?<![\w.-])([a-z0-9][a-z0-9._-]*[a-z0-9]|[a-z0-9])(?![\w-])")
# Words after which a plain word (no '-' or digit) is still taken as a job name.
LAUNCH_MARKERS = r"called|named|name\s+it|job\s+name(?:\s+is)?|name[ds]?|for\s+job|job"
OTHER_MARKERS = LAUNCH_MARKERS + r"|jobs|stop|cancel|kill|terminate|abort|halt|delete|remove|and"
# After a preposition (or "how is") a plain word is a name only when nothing name-shaped is there
# ("for context, status of vv-3": vv-3; "status of bert": bert; "the channel is noisy": no name).
_LOOSE_MARKERS = r"of|for|about|(?:how|where|what|why|when)(?:'s|\s+is)"
_MARKERS = {
    k: re.compile(rf"\b(?:{v})\b\s*[:=]?\s*[\"']?(?=[a-z0-9])")
    for k, v in (("launch", LAUNCH_MARKERS), ("other", OTHER_MARKERS), ("loose", _LOOSE_MARKERS))
}
_NAME_AT = re.compile(r"([a-z0-9][a-z0-9._-]*[a-z0-9]|[a-z0-9])(?![\w-])")
_NOT_NAMES = re.compile(
    r"\d+(?:\.\d+)?[a-z]{0,2}|\d+-(?:nodes?|gpus?|way|machines?|box(?:es)?|hosts?|servers?|hours?|hrs?|days?|h|d)|[a-z]\d{1,3}[a-z]?s?|u[a-z0-9]{6,}|(?:fine|multi|single|best|high|low|"
    r"kick|cluster|kube|right|e|re|co|self|non|pre|post)-[a-z-]+|.*-(?:admin|system)|.*\.(?:py|sh|yaml|json)"
)


def is_strong_name(tok: str) -> bool:
    """A token that looks like a job name on its own: has a '-' or digit and is not a quantity."""
    if tok in VOCAB or _NOT_NAMES.fullmatch(tok):
        return False
    return ("-" in tok or any(c.isdigit() for c in tok)) and any(c.isalpha() for c in tok)


def name_ok(tok: str) -> str | None:
    """A usable job name for ``tok`` (DNS-1123), or None when it is a vocabulary word or quantity."""
    if tok in VOCAB or _NOT_NAMES.fullmatch(tok) or not any(c.isalpha() for c in tok):
        return None
    name = suggest_job_name(tok)
    return name if len(name) <= MAX_JOB_NAME else None


def _marked(low: str, kind: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    for m in _MARKERS[kind].finditer(low):
        n = _NAME_AT.match(low, m.end())
        name = name_ok(n.group(1)) if n else None
        if name:
            out.append((m.end(), name))
    return out


def marked_names(low: str, kind: str = "launch") -> list[str]:
    """Names introduced by a marker word: "called X", "job X" (and verbs, for stop/status)."""
    return list(dict.fromkeys(name for _, name in _marked(low, kind)))


def job_names(low: str) -> list[str]:
    """Job names mentioned anywhere, in order: strong tokens, and weak ones after a marker."""
    found = [
        (m.start(), suggest_job_name(m.group(1)))
        for m in _NAME_TOKEN.finditer(low)
        if is_strong_name(m.group(1))
    ]
    strong = bool(found)
    found += _marked(low, "other")
    if not strong:
        found += _marked(low, "loose")
    return list(dict.fromkeys(name for _, name in sorted(found)))


_SCOPE_TEAM = re.compile(
    r"\b(?:my|our|the)\s+team(?:'s)?\b|^\s*(?:list|show|stop|kill|cancel)\s+team\b|\bteam\s*$|\bteam(?:'s)?\s+jobs\b|\bteammates?\b|\bour\s+jobs\b|\bours\b|\bour\b(?!\s+(?:cluster|gpus?|nodes?|cards?|company|org))"
)
_SCOPE_MINE = re.compile(r"\b(?:my|mine|i|i've|i'm|myself)\b")
_SCOPE_ALL = re.compile(
    r"\b(?:everyone'?s?|everybody'?s?|all\s+(?:the\s+)?(?:jobs|users|teams)|all\s+\w+\s+jobs|"
    r"cluster[\s-]wide|whole\s+cluster|(?:on|across|in)\s+the\s+cluster|across\s+cluster|anyone'?s?|every\s+job|all)\b"
)


_SCOPE_OTHERS = re.compile(r"\b(?:everyone|everybody|anyone)\s+else'?s?\b|\bother\s+(?:people|users)'?s?\b|\bothers'")


def find_scope(low: str) -> Scope | None:
    if _SCOPE_OTHERS.search(low):
        return "all"  # "everyone else's jobs": not the asker's
    if _SCOPE_TEAM.search(low):
        return "team"
    if _SCOPE_MINE.search(low):
        return "mine"
    if _SCOPE_ALL.search(low):
        return "all"
    return None


_STATE = re.compile(
    r"\b(queued|pending|waiting|running|active|failed|failing|fail|crashed|crash|errored|succeeded|successful|"
    r"finished|completed|done|stopped|cancell?ed|canceled|killed|terminated)\b"
)


# "blew up", "went down", "exploded": failed, said the way people say it
_FAILED_PHRASE = re.compile(
    r"\b(?:blew\s+up|blown\s+up|went\s+(?:down|bust|wrong|belly\s+up)|exploded|bombed|died|broke(?:n)?|"
    r"fell\s+over|keeled\s+over|oom(?:ed|-?killed)?|errored\s+out)\b"
)


def find_state(low: str) -> JobState | None:
    if _FAILED_PHRASE.search(low) and not _STATE.search(low):
        return "failed"
    m = _STATE.search(low)
    if not m:
        return None
    word = m.group(1)
    return STATE_WORDS.get(word, "failed" if word == "failing" else "succeeded")
