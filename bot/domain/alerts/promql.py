"""Safe PromQL from values users or labels supply: nothing reaches a query unescaped.

``quote`` makes a PromQL string literal (double-quoted, Go escapes); ``regex_quote`` escapes RE2
metacharacters so a value matches itself literally inside ``=~``; ``selector`` builds a label
selector from (name, op, value) triples, checking label names and operators.
"""

from __future__ import annotations

import re

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_OPS = frozenset({"=", "!=", "=~", "!~"})
_RE2_META = re.compile(r"([\\.+*?()|\[\]{}^$])")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def quote(value: str) -> str:
    """A double-quoted PromQL string literal whose content is exactly ``value``."""
    out = []
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def regex_quote(value: str) -> str:
    """``value`` as an RE2 pattern matching only itself (still to be ``quote``d as a string)."""
    return _RE2_META.sub(r"\\\1", value)


def label_name(name: str) -> str:
    if not _LABEL_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid Prometheus label name")
    return name


def selector(metric: str, *matchers: tuple[str, str, str]) -> str:
    """``metric{name op "value", ...}`` with every value quoted and every name checked."""
    parts = []
    for name, op, value in matchers:
        if op not in _OPS:
            raise ValueError(f"{op!r} is not a PromQL matcher operator")
        parts.append(f"{label_name(name)}{op}{quote(value)}")
    return f"{label_name(metric)}{{{','.join(parts)}}}"


def pods_of_job(job: str) -> str:
    """A regex (to pass through ``selector`` with ``=~``) for the pods of Job ``job``."""
    # <job>-<suffix> or <job>-<index>-<suffix>: "llama" must not match the pods of "llama-ft"
    return regex_quote(job) + "-([0-9]+-)?[a-z0-9]+"
