"""Kubernetes label and field selectors, parsed once per request and matched against stored dicts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.domain.cluster.objects import Obj

# Fields the real apiserver lets you select on, per kind; anything else is a 400 there too.
_FIELD_PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "pods": {
        "spec.nodeName": ("spec", "nodeName"),
        "metadata.name": ("metadata", "name"),
        "metadata.namespace": ("metadata", "namespace"),
        "status.phase": ("status", "phase"),
    },
    "events": {
        "involvedObject.name": ("involvedObject", "name"),
        "involvedObject.kind": ("involvedObject", "kind"),
        "involvedObject.namespace": ("involvedObject", "namespace"),
        "involvedObject.uid": ("involvedObject", "uid"),
        "reason": ("reason",),
        "type": ("type",),
        "metadata.name": ("metadata", "name"),
        "metadata.namespace": ("metadata", "namespace"),
    },
}
_DEFAULT_FIELDS = {"metadata.name": ("metadata", "name"), "metadata.namespace": ("metadata", "namespace")}

_SET_RE = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s+(in|notin)\s*\(([^)]*)\)\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s*$")


class SelectorError(ValueError):
    """A selector the apiserver would answer with 400 BadRequest."""


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!exists"
    values: frozenset[str]

    def matches(self, labels: dict[str, str]) -> bool:
        has = self.key in labels
        if self.op == "exists":
            return has
        if self.op == "!exists":
            return not has
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return has and value in self.values
        return not has or value not in self.values  # != and notin match absent keys, as upstream


def _split_top_level(text: str) -> list[str]:
    """Split on commas that are not inside ``in (a,b)`` parentheses."""
    parts: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()]


def parse_label_selector(text: str | None) -> tuple[Requirement, ...]:
    if not text:
        return ()
    reqs: list[Requirement] = []
    for part in _split_top_level(text):
        if m := _SET_RE.match(part):
            values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
            reqs.append(Requirement(m.group(1), m.group(2), values))
        elif m := _EQ_RE.match(part):
            op = "!=" if m.group(2) == "!=" else "="
            reqs.append(Requirement(m.group(1), op, frozenset([m.group(3)])))
        elif m := _EXISTS_RE.match(part):
            reqs.append(Requirement(m.group(2), "!exists" if m.group(1) else "exists", frozenset()))
        else:
            raise SelectorError(f"unable to parse requirement: {part.strip()!r}")
    return tuple(reqs)


def parse_field_selector(kind: str, text: str | None) -> tuple[tuple[tuple[str, ...], bool, str], ...]:
    """``(path, equal, value)`` triples; unsupported fields raise like the real server does."""
    if not text:
        return ()
    allowed = _FIELD_PATHS.get(kind, _DEFAULT_FIELDS)
    out: list[tuple[tuple[str, ...], bool, str]] = []
    for part in text.split(","):
        if not part.strip():
            continue
        m = re.match(r"^\s*([A-Za-z.]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not m:
            raise SelectorError(f"invalid selector: {part!r}")
        if m.group(1) not in allowed:
            raise SelectorError(f"field label not supported: {m.group(1)}")
        out.append((allowed[m.group(1)], m.group(2) != "!=", m.group(3)))
    return tuple(out)


def _dig(obj: Obj, path: tuple[str, ...]) -> str:
    cur: Any = obj
    for key in path:
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(key)
    return "" if cur is None else str(cur)


def make_matcher(kind: str, label_selector: str | None, field_selector: str | None) -> Callable[[Obj], bool]:
    """One predicate for both selectors; raises ``SelectorError`` on syntax the apiserver rejects."""
    labels_req = parse_label_selector(label_selector)
    fields_req = parse_field_selector(kind, field_selector)
    if not labels_req and not fields_req:
        return lambda _obj: True

    def match(obj: Obj) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        if not all(r.matches(labels) for r in labels_req):
            return False
        return all((_dig(obj, path) == value) == equal for path, equal, value in fields_req)

    return match
