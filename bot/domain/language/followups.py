"""Follow-ups in a thread or a DM: short replies that refer to the last action, without an LLM.

Pure functions. ``follow_up(text, last)`` answers one of:

* a changed copy of the last Launch — "make it 16 GPUs", "use l40s instead", "for 6 hours",
  "call it sft-2", "high priority" (several at once too);
* the last action again, to be confirmed again — "yes", "launch it", "go";
* a cancel — "cancel that", "never mind": nothing is done;
* ``None``: not a follow-up; the text is parsed as a new request.

A text is a follow-up only when, after taking out the changes, nothing but filler words is left;
"launch bert on 2 gpus" names a job and so is a new request even inside a thread.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.domain.actions import Action, Clarify, Launch, Logs, Status, Stop
from bot.domain.jobs import JobRecord
from bot.domain.language.codec import CodecError, from_dict
from bot.domain.language.entities import name_ok, strip_identity, take_image, take_priority
from bot.domain.language.marked import Marked, as_priority, plain_value, read_marked
from bot.domain.language.numbers import digits_for_words, take_duration, take_gpu_spec
from bot.domain.language.scanner import scan

_MAX_TEXT = 300  # a follow-up is a short reply; longer text is a new request

_CANCEL = re.compile(
    r"(?:no[,.!]*\s+)?(?:(?:cancel|scrap|drop|forget|skip|abort)\s+(?:that|it|this)(?:\s+one)?|"
    r"never\s*mind|forget\s+(?:about\s+)?it|no(?:pe)?(?:\s+thanks)?|don'?t(?:\s+(?:do|launch|run)\s+it)?)"
    r"(?:[,.!]*\s*(?:please|thanks|thank\s+you))?"
)
_CONFIRM_WORD = (
    r"(?:yes|yep|yeah|yup|y|sure|ok|okay|confirm(?:ed)?|go(?:\s+ahead)?|do\s+it|lgtm|looks\s+good|"
    r"(?:launch|run|start|submit|ship|send)\s+it|please|let'?s\s+go)"
)
_CONFIRM = re.compile(rf"{_CONFIRM_WORD}(?:[\s,.!]+{_CONFIRM_WORD})*")
_NAME = re.compile(r"\b(?:call|name)\s+it\s+([a-z0-9][a-z0-9._-]*)|\brename\s+(?:it\s+)?to\s+([a-z0-9][a-z0-9._-]*)")
_FILLER = frozenset(
    re.findall(
        r"\S+",
        """
    make it that this change set bump raise lower up down use using switch to instead actually rather
    with on for and please the a an of gpu gpus card cards node nodes priority run launch start it's
    let's lets ok okay then but no yes how about what try i want need would like can we let go same
    just only total in all time limit hours more less job image tag is fine low high normal
    """,
    )
)
_PRONOUN = re.compile(r"\b(?:its?|that(?:\s+(?:one|job))?|this(?:\s+(?:one|job))?|the\s+job)\b")


@dataclass(frozen=True)
class FollowUp:
    kind: Literal["action", "cancel"]
    action: Action | None = None


def _norm(text: str) -> str:
    """``text`` is already clean (``Parsed.cleaned_text``): only the spacing is evened out."""
    return re.sub(r"\s+", " ", text[:_MAX_TEXT]).strip()


def _bare(low: str) -> str:
    return low.strip(" \t.!?,")


def follow_up(text: str, last: Mapping[str, Any] | None) -> FollowUp | None:
    """What a short reply (cleaned text) in a conversation means, given the last action's dict."""
    s = _norm(text)
    low = _bare(s.lower().replace("’", "'"))
    if not low or len(s) >= _MAX_TEXT:
        return None
    if _CANCEL.fullmatch(low):
        return FollowUp("cancel")
    previous = _last_action(last)
    if _CONFIRM.fullmatch(low):
        return FollowUp("action", previous) if previous is not None else None
    if isinstance(previous, Launch):
        changed = _changes(s, previous)
        if changed is not None:
            return FollowUp("action", changed)
    return None


def is_confirmation(text: str) -> bool:
    """"yes", "go", "launch it": a reply that only confirms something asked before."""
    return bool(_CONFIRM.fullmatch(_bare(_norm(text).lower().replace("’", "'"))))


def _last_action(last: Mapping[str, Any] | None) -> Action | None:
    if not last:
        return None
    try:
        action = from_dict(last)
    except CodecError:
        return None  # a context from an older version, or damaged: start afresh
    return None if isinstance(action, Clarify) else action


def _changes(
    s: str, last: Launch, more_filler: frozenset[str] = frozenset(), given: dict[str, Any] | None = None
) -> Launch | None:
    """``last`` with the changes ``s`` asks for, or None when ``s`` is more than changes.

    ``given``: changes already read from markup (``key=value`` words, env pairs, a code span)."""
    image, rest = take_image(s)
    low = re.sub(r"(?<!\S)w/(?=\s)", "with", rest.lower().replace("’", "'"))
    low, _ = strip_identity(low)  # "as admin", "in kube-system": never fields of an action
    changes: dict[str, Any] = dict(given or {})
    m = _NAME.search(low)
    if m and (name := name_ok(m.group(1) or m.group(2))):
        changes["name"] = name
        low = low[: m.start()] + " " + low[m.end() :]
    low = digits_for_words(low)
    seconds, low = take_duration(low)
    spec, low = take_gpu_spec(low)
    priority, low = take_priority(low)
    if image:
        changes.setdefault("image", image)
    if seconds:
        changes["time_limit_s"] = seconds
    if spec.gpus:
        changes["gpus"] = spec.gpus
    if spec.nodes:
        changes["nodes"] = spec.nodes
    if spec.gpu_type:
        changes["gpu_type"] = spec.gpu_type
    if priority:
        changes["priority"] = priority
    for key in ("time_limit_s", "gpus", "nodes", "gpu_type", "priority"):
        if given and key in given:
            changes[key] = given[key]  # a key=value word wins over what the prose seemed to say
    leftover = re.findall(r"[a-z0-9'._-]+", low)
    if not changes or any(w not in _FILLER and w not in more_filler for w in leftover):
        return None
    return dataclasses.replace(last, **changes, given=last.given | frozenset(changes))


# "same as before", "again", "like last time but with 32 GPUs", "rerun my last job on l40s", "clone my last run"
_AGAIN = re.compile(
    r"\b(?:same|again|once\s+more|one\s+more|previous\s+(?:setup|config\w*|settings?|one|job|run|launch)|re-?run|re-?launch|re-?submit|redo|repeat|restart|clone|"
    r"duplicate|copy\s+(?:of\s+)?(?:my|the|it|this)\b)\b|\blike\s+(?:my\s+|the\s+)?(?:last|previous|latest|before|most\s+recent)\b|\banother\s+one\b|"
    r"\blike\s+[a-z0-9][\w.-]*\s*,?\s+but\b"
)
AGAIN_HINT = _AGAIN  # cheap test before the asker's last launch is looked up
# What a "same as before" sentence says besides its changes.
_AGAIN_FILLER = frozenset("""
    same again once more one time rerun re-run relaunch re-launch resubmit re-submit redo repeat restart copy clone
    duplicate like as before last previous latest most recent my the a an another job run launch config configuration
    settings setup setting thing things but with and also this that it please thanks except only now can you could
    i want need just do of exactly identical everything else keep same-as pls plz those ones earlier yesterday
    today morning afternoon evening week time limit b4 before
    """.split())  # noqa: SIM905 - a word list reads better as text


def launch_of(record: JobRecord) -> Launch:
    """The launch a job record was made from: every field as it ran counts as given."""
    a = Launch(
        name=record.name, template=record.template, image=record.image, gpus=record.gpus,
        gpu_type=record.gpu_type, nodes=record.nodes, time_limit_s=record.time_limit_s,
        priority=record.priority, command=tuple(record.command) if record.command else None,
        env=tuple(sorted(record.env.items())), memory=record.memory, cpus=record.cpus,
    )
    given = {"image", "gpus", "gpu_type", "nodes", "time_limit_s", "priority", "env"}
    given |= {k for k in ("command", "memory", "cpus") if getattr(record, k)}
    # The template is not named again: its values are already in the record, and fixed as they ran.
    return dataclasses.replace(a, template=None, given=frozenset(given))


def again_of(text: str, last: Launch) -> Launch | None:
    """A new launch based on the asker's last one — "same as before but with 32 GPUs" — or None.

    ``text`` is cleaned. The name is not kept (it is the old job's); the text may give a new one.
    """
    low = _bare(_norm(text).lower())
    if _AGAIN.search(low) is None or len(low) >= _MAX_TEXT:
        return None
    scanned = scan(_FLAG_CHANGE.sub(r"\1=\2", text))  # "same but --gpus 4": a flag is a key=value change
    marked = read_marked(scanned, scanned.plain(plain_value))
    given = _marked_changes(marked, last)
    low = _bare(_norm(marked.plain).lower())
    if last.name:  # "like llama-ft-3 but with 16 GPUs": the last job named is the base, not a new name
        low = re.sub(rf"(?<![\w.-]){re.escape(last.name)}(?![\w-])", " ", low)
    low = re.sub(r"\b(?:another|previous|last|latest|same|the|that)\s+one\b|\bone\s+more\b", " ", low)  # not a count
    base = dataclasses.replace(last, name=None, given=last.given - {"name"})
    changed = _changes(low, base, _AGAIN_FILLER, given)
    if changed is not None:
        return changed
    if given:
        return None  # markup as well as words that are not changes: more than a follow-up
    words = re.findall(r"[a-z0-9'._-]+", low.replace(",", " "))
    return base if all(w in _AGAIN_FILLER or w in _FILLER for w in words) else None


_FLAG_CHANGE = re.compile(r"(?<!\S)--(gpus|gpu-type|nodes|time|priority|image|name|memory|cpus)(?:=|\s+)(?!-)(\S+)")
_MARKED_FIELDS = ("name", "image", "gpus", "gpu_type", "nodes", "time_limit_s", "priority", "memory", "cpus")


def _marked_changes(marked: Marked, last: Launch) -> dict[str, Any]:
    """Changes written as markup: ``key=value`` words, ``env K=V``, a command in a code span."""
    out: dict[str, Any] = {k: v for k, v in marked.fields.items() if k in _MARKED_FIELDS}
    if "priority" in out:
        out["priority"] = as_priority(out["priority"]) or last.priority
    if marked.env:
        out["env"] = tuple(sorted({**dict(last.env), **marked.env}.items()))
    if marked.command:
        out["command"] = marked.command
    return out


def _job_of(last: Mapping[str, Any] | None) -> str | None:
    """The one job the last action was about, if there is exactly one."""
    previous = _last_action(last)
    if isinstance(previous, Launch):
        return previous.name
    if isinstance(previous, Status | Logs):
        return previous.job
    if isinstance(previous, Stop) and len(previous.jobs) == 1:
        return previous.jobs[0]
    return None


def resolve_pronoun(action: Action, text: str, last: Mapping[str, Any] | None, stop_unclear: bool) -> Action:
    """"stop it", "how is it doing", "logs of that job" → the job of the last action.

    ``stop_unclear`` says the parser could not tell which job to stop (it asked "which job?").
    """
    if not _PRONOUN.search(_norm(text).lower()):
        return action
    job = _job_of(last)
    if job is None:
        return action
    if isinstance(action, Status) and action.job is None:
        return Status(job=job)
    if isinstance(action, Logs) and action.job is None:
        return Logs(job=job, tail=action.tail)
    if stop_unclear or (isinstance(action, Stop) and not action.jobs and action.scope is None
                        and action.state is None):
        return Stop(jobs=(job,))
    return action
