"""Text → Action, once: the `/gpu` grammar for commands, the sentence rules for everything else.

The text is scanned once (``scanner.py``); both readers take the same tokens. A text whose first
word is a subcommand is read with the grammar when it looks like a command (flags, or only
name-like words); "status of bert-base" or "stop all my jobs" are sentences even though they
start with a subcommand. ``parse`` raises nothing but ``ParseError`` (a malformed command).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Literal

from bot.domain.actions import Action, Clarify
from bot.domain.errors import ParseError
from bot.domain.language.entities import VOCAB
from bot.domain.language.fuzzy import closest
from bot.domain.language.marked import pairs_as_flags
from bot.domain.language.scanner import Scanned, scan
from bot.domain.language.sentences import read_sentence
from bot.domain.language.slash import FLAGS, SUBCOMMANDS, parse_words, typo_of, user_flag_ids
from bot.domain.language.values import STATE_WORDS
from bot.domain.language.verbs import SLURM_VERBS

_NAME_LIKE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_PREFIX = re.compile(r"^\s*/gpu(?:\s+|$)", re.I)
# Courtesy after a command ("status x please"): not arguments, so they are dropped before the grammar.
_COURTESY = frozenset({
    "please", "pls", "plz", "thanks", "thank", "you", "thx", "ty", "now", "asap", "again", "kindly", "", "me",
    "cheers", "ta", "tia", "much", "so", "lot", "ton", "appreciated",
})
_PLAIN_WORD = re.compile(r"[A-Za-z][A-Za-z']*[,.;:!?]*")
_MAX_POSITIONALS = {"launch": 1, "status": 1, "logs": 1, "help": 1, "list": 0, "queue": 0, "gpus": 0, "extend": 2,
                    "history": 0, "report": 0}


@dataclass(frozen=True)
class Parsed:
    action: Action
    via: Literal["grammar", "sentence"]
    cleaned_text: str  # the request with Slack markup and the `/gpu` prefix taken out


def _looks_like_command(sub: str, words: list[str], slash: bool) -> tuple[bool, bool]:
    """(has flags, reads as a sentence) for the words after the subcommand."""
    flags = odd = vocab = False
    count = 0
    for w in words:
        if w == "--" or w.lower() in ("command:", "cmd:"):
            break  # what follows is the job's command
        if w.startswith("-") and len(w) > 1 and not w[1:].isdigit():
            flags = True
            continue
        count += 1
        if not _NAME_LIKE.fullmatch(w) or w.isdigit():
            odd = True
        elif w.lower() in VOCAB:
            vocab = True
    if slash and sub in _MAX_POSITIONALS:
        # After `/gpu`, a word count that fits the grammar is a command even if it is an English word.
        return flags, odd or count > _MAX_POSITIONALS[sub]
    return flags, odd or vocab


def parse(text: str) -> Parsed:
    """What ``text`` asks for, read once. Raises ``ParseError`` (only) for a malformed `/gpu` command."""
    scanned = scan(user_flag_ids(text))
    cleaned = _PREFIX.sub("", scanned.cleaned, count=1).strip()
    action, via = _read(scanned)
    return Parsed(action, via, cleaned)


def _read(scanned: Scanned) -> tuple[Action, Literal["grammar", "sentence"]]:
    words = [t.text for t in scanned.tokens if t.kind == "word"]
    slash = bool(words) and words[0].lower() == "/gpu"
    if slash:
        words = words[1:]
    has_code = bool(scanned.code())
    if not words:
        return (parse_words([]), "grammar") if slash and not has_code else (read_sentence(scanned), "sentence")
    trim = words[-1][-1:] in "?!" and "--" not in words and bool(_NAME_LIKE.fullmatch(words[-1].rstrip("?!")))
    if trim:
        words[-1] = words[-1].rstrip("?!")  # "/gpu queue?": the question mark is not part of the word
    sub = words[0].lower()
    courtesy = 0
    while len(words) - courtesy > 1 and words[-1 - courtesy].lower().strip("!.,?") in _COURTESY:
        courtesy += 1
    if sub == "launch" or not words[-1 - courtesy:] or sub not in SUBCOMMANDS:
        courtesy = 0
    words = words[: len(words) - courtesy]
    flags, sentence = _looks_like_command(typo_of(sub) or sub, words[1:], slash)
    if sub not in SUBCOMMANDS:
        if sub in SLURM_VERBS:
            return read_sentence(scanned), "sentence"  # "squeue --me", "scancel x": Slurm's words
        meant = typo_of(sub)
        if flags and not slash and sub not in VOCAB and (slip := closest(sub, SUBCOMMANDS)):
            # "lgos vx-3 --tail 20" in a message: a slip of the verb, and flags that only it takes
            return _grammar_or_prose([slip, *scanned.shell_words()[1:]], slash), "grammar"
        if meant and slash and (flags or not sentence):
            parse_words(scanned.shell_words())  # raises: "did you mean `/gpu launch ...`", every word kept
        return read_sentence(scanned), "sentence"
    if has_code and not flags:
        sentence = True
    if sub == "help" and len(words) == 2 and words[1].lower() in SUBCOMMANDS:
        sentence = False  # "help launch": the help of a subcommand
    if not slash and sub == "launch" and len(words) == 1 and not has_code:
        sentence = True  # "launch" alone in a message: ask what to launch (after `/gpu` it is the grammar's)
    if flags or not sentence:
        try:
            words = _without_courtesy(_trimmed(scanned.shell_words(), trim), courtesy)
            return _grammar_or_prose(words, slash), "grammar"
        except ParseError:
            if slash or flags:
                raise
            # "stop" or "logs" alone, not after `/gpu`: a sentence's question ("which job?") helps more
            return read_sentence(scanned), "sentence"
    action = read_sentence(scanned)
    if slash and isinstance(action, Clarify):
        # `/gpu launch something` is still a well-formed command: the user chose the grammar.
        try:
            return parse_words(scanned.shell_words()), "grammar"
        except ParseError:
            return action, "sentence"
    return action, "sentence"


def _grammar_or_prose(words: list[str], slash: bool) -> Action:
    """The grammar's action; in a message, a command followed by a remark ("--tail 100 want to see
    the nan", "--time 4h cheers") is read without the remark when the whole line does not parse."""
    if not slash and words and words[0].lower() == "logs":
        words = ["--tail" if w in ("-n", "-l", "--lines", "--last") else w for w in words]  # `tail -n 100`'s habit
    if not slash and words:
        words = pairs_as_flags(words[0].lower(), _without_identity(words))  # "launch gpus=4 type=a100 --time 2h"
    try:
        return parse_words(words)
    except ParseError:
        if not slash and words[0].lower() == "list" and (named := _list_words_as_flags(words)) != words:
            with contextlib.suppress(ParseError):
                return parse_words(named)  # "list my jobs --state failed"
        if not slash and (glued := _without_glue(words)) != words:
            with contextlib.suppress(ParseError):
                return parse_words(glued)  # "launch ab-1 with --gpus 2 and --time 3h"
        cut = _remark_start(words)
        if slash or cut is None:
            raise
        head = [*words[: cut - 1], words[cut - 1].rstrip(",.;:!")]
        try:
            return parse_words(head)
        except ParseError:
            pass
        raise


# Flags naming who or where: never read from text (identity comes from the signed request), so in a
# message they are dropped with their value; after `/gpu` they are an unknown flag, said as such.
_IDENTITY_FLAGS = frozenset({"--namespace", "--ns", "--user", "--as", "--owner", "--account", "--uid", "--team-name"})


def _without_identity(words: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for i, w in enumerate(words):
        if w == "--":
            return [*out, *words[i:]]
        if skip:
            skip = False
            continue
        flag, eq, _ = w.partition("=")
        if flag.lower() in _IDENTITY_FLAGS:
            skip = not eq
            continue
        out.append(w)
    return out


_LIST_WORDS = {"my": ["--mine"], "mine": ["--mine"], "team": ["--team"], "team's": ["--team"], "our": ["--team"],
               "all": ["--all"], "everyone's": ["--all"], "jobs": [], "job": [], "the": [], "me": [], "of": []}


def _list_words_as_flags(words: list[str]) -> list[str]:
    """A list command's words that the grammar has flags for: "my" → --mine, "failed" → --state failed."""
    out = words[:1]
    for i, w in enumerate(words[1:], 1):
        low = w.lower().strip(",.")
        if w.startswith("-") or words[i - 1] == "--state" or (low not in _LIST_WORDS and low not in STATE_WORDS):
            out.append(w)
        else:
            out += _LIST_WORDS.get(low, ["--state", STATE_WORDS.get(low, low)])
    return out


_GLUE = frozenset({"with", "and", "on", "using", "for", "the", "a", "an", "also", "plus", "&", "&amp;", ","})


def _without_glue(words: list[str]) -> list[str]:
    """The words without English glue between flags (a flag's own value is kept whatever it is)."""
    flags = FLAGS.get(words[0].lower(), {})
    out = words[:1]
    for i, w in enumerate(words[1:], 1):
        if w == "--":
            return [*out, *words[i:]]
        if w.lower() not in _GLUE or (flags.get(words[i - 1].partition("=")[0]) and "=" not in words[i - 1]):
            out.append(w)
    return out


def _remark_start(words: list[str]) -> int | None:
    """Where a trailing remark of plain words begins: after a flag, a flag's value or a name-shaped
    word, and holding at least one glue or courtesy word (so "stop alpha beta" keeps its names)."""
    i = len(words)
    while i > 2 and _PLAIN_WORD.fullmatch(words[i - 1]) and "--" not in words[:i]:
        i -= 1
    if FLAGS.get(words[0].lower(), {}).get(words[i - 1]) and i < len(words):
        i += 1  # "--state running, just curious": the first plain word is the flag's value
    if i == len(words) or i < 2:
        return None
    tail = [w.lower().strip(",.;:!?") for w in words[i:]]
    if not any(w in VOCAB or w in _COURTESY for w in tail):
        return None
    before = words[i - 1]
    shaped = before.startswith("-") or any(c.isdigit() for c in before) or "-" in before[1:]
    return i if shaped or words[i - 2].startswith("--") else None


def _trimmed(words: list[str], trim: bool) -> list[str]:
    return [*words[:-1], words[-1].rstrip("?!")] if trim and words else words


def _without_courtesy(words: list[str], n: int) -> list[str]:
    return words[: len(words) - n] if n else words


def parse_action(text: str) -> Action:
    """``parse(text).action``: for callers that need only the action."""
    return parse(text).action


__all__ = ["Parsed", "parse", "parse_action"]
