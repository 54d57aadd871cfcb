"""Slack text → clean tokens with spans: the one place that knows Slack's markup.

Both readers start here: the `/gpu` grammar takes shell words (quotes group, a code span's
content is split like the rest), the sentence rules take the plain text, the code spans and the
``key=value`` words. Markup handled: mentions and ``<!here>``, channel and link wrappers,
``:emoji:``, inline code and code blocks, HTML entities and smart quotes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bot.domain import messages as msg
from bot.domain.errors import ParseError

TokenKind = Literal["word", "code", "block", "mention", "channel", "link", "emoji"]

_SMART = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'", "\u00a0": " ",
                        "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": ""})  # zero-width: invisible
# Slack and macOS turn a typed "--" into an em or en dash: at the start of a word it is still a flag.
_DASHED_FLAG = re.compile(r"(?<!\S)[\u2014\u2013](?=[A-Za-z])")
# "@gpu-chatops launch ...": the bot addressed by name as plain text (not Slack's <@U…> mention)
_ADDRESSED = re.compile(r"^\s*@[A-Za-z0-9][\w.-]*[:,]?\s+(?=\S)")
_MARKUP = re.compile(
    r"(?P<quoted>(?<!\S)'[^'\n]*'(?!\w)|(?<!\S)\"[^\"\n]*\"(?!\w))"  # quoted words hold no markup
    r"|(?P<block>```(?:[a-z0-9_+-]*\n)?(?P<block_body>.*?)```)"
    r"|(?P<code>`(?P<code_body>[^`\n]+)`)"
    r"|(?P<mention><[@!][A-Za-z0-9^|._-]*>(?:'s)?)"  # "<@U1>'s job x": the possessive goes with the person
    r"|(?P<channel><#[A-Z0-9]+(?:\|(?P<channel_name>[^<>]*))?>)"
    r"|(?P<link><(?P<url>(?:https?|mailto):[^<>|]*|[^<>@!#|][^<>|]*)(?:\|(?P<label>[^<>]*))?>)"
    r"|(?P<emoji>(?<![\w/.:@-]):[a-z0-9_+-]*[a-z_][a-z0-9_+-]*:(?![\w/]))",
    re.S,
)
_KINDS = ("block", "code", "mention", "channel", "link", "emoji")
_PAIR = re.compile(r"^-{0,2}([A-Za-z_][A-Za-z0-9_.-]*)\s*=(.*)$", re.S)


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    text: str  # the clean value: a word without its quotes, a code span's content, a link's text
    start: int  # span in ``Scanned.source``
    end: int

    @property
    def pair(self) -> tuple[str, str] | None:
        """``key=value`` of a word (``--key=value`` too), else None."""
        if self.kind != "word":
            return None
        m = _PAIR.match(self.text)
        return (m.group(1), m.group(2)) if m else None


@dataclass(frozen=True)
class Scanned:
    source: str  # the text as received, smart quotes made plain (same length, so spans hold)
    tokens: tuple[Token, ...]
    cleaned: str  # markup undone: no mentions or emoji, links unwrapped, code spans kept in backticks
    runs: tuple[tuple[int, int], ...] = ()  # the plain-text stretches between markup, as spans

    def shell_words(self) -> list[str]:
        """The grammar's argument words: shell quoting in the plain text (an unclosed quote is a
        ``ParseError``), a code span's content split the same way; mentions and emoji dropped."""
        out: list[str] = []
        markup = iter(t for t in self.tokens if t.kind != "word")
        pending = next(markup, None)
        for start, end in (*self.runs, (len(self.source) + 1, len(self.source) + 1)):
            while pending is not None and pending.start < start:
                if pending.kind in ("code", "block"):
                    out.extend(t.text for t in scan(pending.text, shell=True).words())
                elif pending.kind in ("link", "channel"):
                    out.append(pending.text)
                pending = next(markup, None)
            tokens: list[Token] = []
            _words(self.source, start, min(end, len(self.source)), True, tokens, [])
            out.extend(t.text for t in tokens)
        return out

    def words(self) -> list[Token]:
        return [t for t in self.tokens if t.kind in ("word", "link", "channel")]

    def code(self) -> list[Token]:
        return [t for t in self.tokens if t.kind in ("code", "block")]

    def plain(self, keep: Callable[[str], bool] | None = None) -> str:
        """The cleaned text without its code spans (what the sentence rules read); a span for which
        ``keep`` says yes stays as plain words (a backticked GPU type or duration is not a value)."""

        def span(m: re.Match[str]) -> str:
            inner = m.group(0).strip("`")
            return f" {inner} " if keep is not None and not m.group(0).startswith("```") and keep(inner) else " "

        return re.sub(r"[ \t]+", " ", _CODE_IN_CLEAN.sub(span, self.cleaned)).strip()


# *bold*, _italic_, ~struck~ around words in a message (not in a slash command, which Slack sends raw)
_EMPHASIS = re.compile(r"(?<![\w*_~])[*_~]+(?=[\w\"'])|(?<=[\w.\"'])[*_~]+(?![\w*_~])")
_CODE_IN_CLEAN = re.compile(r"```.*?```|`[^`\n]+`", re.S)


def _unwrap_whole(s: str) -> str:
    """A code span around the *whole* text is formatting (a command pasted as code), not a value."""
    t = s.strip()
    for fence in ("```", "`"):
        if len(t) > 2 * len(fence) and t.startswith(fence) and t.endswith(fence):
            inner = t[len(fence) : -len(fence)]
            if "`" not in inner:
                return inner.strip()
    return s


def scan(text: str, *, shell: bool = False) -> Scanned:
    """Tokens of ``text``. ``shell``: words follow shell quoting (the grammar); an unclosed quote
    is then a ``ParseError``. Otherwise a quote with no partner is an apostrophe."""
    source = _unwrap_whole(_ADDRESSED.sub("", _DASHED_FLAG.sub("--", text.translate(_SMART)), count=1))
    tokens: list[Token] = []
    cleaned: list[str] = []
    runs: list[tuple[int, int]] = []
    pos = 0
    quoted = _shell_quoted(source) if _PREFIX.match(source) else ()
    for m in _MARKUP.finditer(source):
        if m.group("quoted") is not None:
            continue  # plain text: read with the words around it
        if any(a < m.start() < b for a, b in quoted):
            continue  # a backtick inside a shell-quoted word of a `/gpu` line is a character, not code
        _words(source, pos, m.start(), shell, tokens, cleaned)
        runs.append((pos, m.start()))
        kind = next(k for k in _KINDS if m.group(k) is not None)
        if kind == "block" or kind == "code":
            body = html.unescape(m.group(f"{kind}_body")).strip()
            tokens.append(Token("block" if kind == "block" else "code", body, m.start(), m.end()))
            cleaned.append(f"`{body}`")
        elif kind == "channel":
            name = m.group("channel_name") or ""
            tokens.append(Token("channel", name, m.start(), m.end()))
            cleaned.append(name)
        elif kind == "link":
            shown = html.unescape(m.group("label") or m.group("url") or "")
            tokens.append(Token("link", shown, m.start(), m.end()))
            cleaned.append(shown)
        else:
            tokens.append(Token("mention" if kind == "mention" else "emoji", m.group(0), m.start(), m.end()))
            cleaned.append(" ")
        pos = m.end()
    _words(source, pos, len(source), shell, tokens, cleaned)
    runs.append((pos, len(source)))
    out = re.sub(r"[ \t]+", " ", "".join(cleaned)).strip()
    return Scanned(source, tuple(tokens), out, tuple(runs))


_PREFIX = re.compile(r"\s*/gpu\b", re.I)


def _shell_quoted(s: str) -> tuple[tuple[int, int], ...]:
    """Spans inside shell quotes of a `/gpu` line, as the grammar will read them."""
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c in "'\"":
            close = s.find(c, i + 1)
            if close < 0:
                break
            spans.append((i, close))
            i = close
        i += 1
    return tuple(spans)


def _words(source: str, start: int, end: int, shell: bool, tokens: list[Token], cleaned: list[str]) -> None:
    """Words of ``source[start:end]`` (entities undone) into ``tokens``; its text into ``cleaned``."""
    if start >= end:
        return
    text = html.unescape(source[start:end])
    cleaned.append(text if shell else _EMPHASIS.sub("", text))
    i = start
    while i < end:
        while i < end and source[i].isspace():
            i += 1
        if i >= end:
            break
        j, word = _word(source, i, end, shell)
        word = html.unescape(word)
        tokens.append(Token("word", word if shell else _EMPHASIS.sub("", word), i, j))
        i = j


def _word(s: str, i: int, end: int, shell: bool) -> tuple[int, str]:
    """One word from ``i``: quotes group (when they close), a backslash escapes (shell only)."""
    out: list[str] = []
    while i < end and not s[i].isspace():
        c = s[i]
        if c in "'\"":
            close = s.find(c, i + 1, end)
            if close < 0:
                if shell:
                    raise ParseError(msg.parse_bad_quoting("No closing quotation"), None)
                out.append(c)
                i += 1
                continue
            if not shell and c == "'" and out and out[-1].isalpha():
                out.append(c)  # an apostrophe: "what's", "don't"
                i += 1
                continue
            out.append(s[i + 1 : close])
            i = close + 1
            continue
        if shell and c == "\\" and i + 1 < end:
            out.append(s[i + 1])
            i += 2
            continue
        out.append(c)
        i += 1
    return i, "".join(out)


def shell_words(text: str) -> list[str]:
    return scan(text).shell_words()
