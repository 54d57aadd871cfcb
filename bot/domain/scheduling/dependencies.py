"""Job dependencies (``--after JOB[:ok|:any|:notok]``, Slurm's afterok/afterany/afternotok): pure rules.

A dependency is met when the job it names ended as its condition asks, never met once that job ended
otherwise (Slurm's DependencyNeverSatisfied: the dependent job is cancelled), and waits meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Literal

Verdict = Literal["wait", "met", "never"]

_ENDED_WELL = frozenset({"succeeded"})
_ENDED_BADLY = frozenset({"failed", "stopped", "timedout"})


def verdict(condition: str, state: str | None) -> Verdict:
    """One dependency, given the state of the job it names (None: that record is gone)."""
    if state is None:
        return "never"
    ended = state in _ENDED_WELL or state in _ENDED_BADLY
    if not ended:
        return "wait"
    if condition == "any":
        return "met"
    ok = state in _ENDED_WELL
    return "met" if ok == (condition == "ok") else "never"


def overall(deps: Sequence[tuple[str, str | None]]) -> tuple[Verdict, int | None]:
    """All of a job's dependencies (condition, state): met when all are, never as soon as one is,
    and the index of the one that decides (the first never, else the first still waited on)."""
    first_wait: int | None = None
    for i, (condition, state) in enumerate(deps):
        v = verdict(condition, state)
        if v == "never":
            return "never", i
        if v == "wait" and first_wait is None:
            first_wait = i
    return ("wait", first_wait) if first_wait is not None else ("met", None)


def find_cycle(start: str, first: Iterable[str], edges: Callable[[str], Iterable[str]]) -> list[str] | None:
    """A path ``start → ... → start`` when ``start`` would depend on ``first`` (each node's
    dependencies by ``edges``), or None. Iterative depth-first: chains may be long."""
    seen: set[str] = set()
    stack: list[tuple[str, list[str]]] = [(n, [start, n]) for n in first]
    while stack:
        node, path = stack.pop()
        if node == start:
            return path
        if node in seen:
            continue
        seen.add(node)
        stack.extend((nxt, [*path, nxt]) for nxt in edges(node))
    return None


def graph_edges(graph: Mapping[str, Iterable[str]]) -> Callable[[str], Iterable[str]]:
    return lambda node: graph.get(node, ())
