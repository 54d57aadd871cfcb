"""Text → Action: the `/gpu` grammar for commands, the sentence rules for everything else.

A text whose first word is a subcommand is read with the grammar when it looks like a command
(flags, or only name-like words); "status of bert-base" or "stop all my jobs" are sentences even
though they start with a subcommand. ``parse`` raises nothing but ``ParseError``.
"""

from __future__ import annotations

import re

from bot.domain.actions import Action, Clarify
from bot.domain.errors import ParseError
from bot.domain.language.entities import VOCAB
from bot.domain.language.sentences import parse_sentence
from bot.domain.language.slash import SUBCOMMANDS, parse_command
from bot.domain.language.values import clean_slack_text, strip_mentions

_PREFIX = re.compile(r"^\s*/gpu(?:\s+|$)", re.I)
_NAME_LIKE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _split(text: str) -> tuple[str, bool]:
    """Strip the bot mention and a leading `/gpu`; report whether it was a slash command."""
    s = strip_mentions(clean_slack_text(text))
    m = _PREFIX.match(s)
    return (s[m.end() :], True) if m else (s, False)


_MAX_POSITIONALS = {"launch": 1, "status": 1, "logs": 1, "help": 1, "list": 0, "queue": 0, "gpus": 0}


def _looks_like_command(sub: str, words: list[str], slash: bool) -> tuple[bool, bool]:
    """(has flags, reads as a sentence) for the words after the subcommand."""
    flags = odd = vocab = False
    count = 0
    for w in words:
        if w == "--":
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


def parse(text: str) -> Action:
    """The action ``text`` asks for. Raises ``ParseError`` (only) for a malformed `/gpu` command.

    No catch-all: a bug here must surface at the request's boundary (logged, with a request id),
    not turn into "not understood"."""
    body, slash = _split(text)
    words = body.split()
    if not words or words[0].lower() not in SUBCOMMANDS:
        return parse_command("help") if slash and not words else parse_sentence(body)
    # Code spans are commands, not words of the request.
    sub = words[0].lower()
    flags, sentence = _looks_like_command(sub, re.sub(r"`[^`]*`", " ", body).split()[1:], slash)
    if "`" in body and not flags:
        sentence = True
    if flags or not sentence:
        return parse_command(body, cleaned=True)
    action = parse_sentence(body)
    if slash and isinstance(action, Clarify):
        # `/gpu launch something` is still a well-formed command: the user chose the grammar.
        try:
            return parse_command(body, cleaned=True)
        except ParseError:
            return action
    return action


__all__ = ["parse", "parse_sentence"]
