"""A fix for a `/gpu` line whose error came without one: the same words with one flag's value replaced
by an example of that flag, or the flag dropped, whichever the grammar then accepts.

The grammar's own fixes are precise (a misspelt flag, a negative count); this is the fallback that
keeps the rule "every refusal says what would work" for the rest (``--tail abc``, ``--cpus 0.5``,
``--frobnicate``). A candidate is offered only after it parsed: the fix is checked, not guessed."""

from __future__ import annotations

import html
import shlex
from collections.abc import Callable, Iterator

from bot.domain.errors import ParseError, ValidationError
from bot.domain.language.slash_args import EXAMPLES, FLAGS

Parser = Callable[[list[str]], object]
Words = Callable[[str], list[str]]


def checked_fix(fix: str | None, toks: list[str], parse: Parser, words: Words) -> str | None:
    """``fix`` if it parses; else the fix of its own error if that parses (``--gpus 0.5 --nodes 2``:
    1 GPU, then 2 for two nodes); else a repair of ``toks``; else nothing (no fix beats a wrong one)."""
    if fix is not None and fix.startswith("/gpu "):
        try:
            parse(words(fix))
            return fix
        except (ParseError, ValidationError) as err:
            if isinstance(err.fix, str) and err.fix.startswith("/gpu ") and _parses(words(err.fix), parse):
                return err.fix
    elif fix is not None:
        return fix  # not a command line (a hint in words): shown as it is
    return repaired(toks, parse)


def _parses(toks: list[str], parse: Parser) -> bool:
    try:
        parse(toks)
    except (ParseError, ValidationError):
        return False
    return True


def repaired(toks: list[str], parse: Parser) -> str | None:
    """The first candidate line (``toks`` edited at one flag) that ``parse`` accepts, as Slack sends it."""
    for candidate in _candidates(toks):
        if _parses(candidate, parse):
            return "/gpu " + html.escape(shlex.join(candidate), quote=False)
    return None


def _candidates(toks: list[str]) -> Iterator[list[str]]:
    words = toks[1:] if toks and toks[0].lower() == "/gpu" else toks
    if not words:
        return
    flags = FLAGS.get(words[0].lower(), {})
    for i, tok in enumerate(words):
        if tok == "--":
            break  # the container's own command: not ours to edit
        if not tok.startswith("--"):
            continue
        name, eq, _val = tok.partition("=")
        takes = flags.get(name)
        has_next = i + 1 < len(words) and not words[i + 1].startswith("--")
        value_end = i + 1 if eq or not (takes and has_next) else i + 2
        if takes and name in EXAMPLES:
            yield [*words[:i], name, EXAMPLES[name], *words[value_end:]]
        yield [*words[:i], *words[value_end:]]  # the flag (and its value) dropped
        if takes is None and has_next and not eq:  # an unknown flag: its value, if it had one, too
            yield [*words[:i], *words[i + 2 :]]
