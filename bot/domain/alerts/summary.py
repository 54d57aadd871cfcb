"""A big alert group in a few numbers: how many fire, of which alert names, on which nodes most.

A storm (one group of thousands of alerts) is shown as one message: its lines cannot list them all."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from bot.domain.alerts.payload import GroupState

NODE_LABELS = ("Hostname", "hostname", "node")  # DCGM exporter, kube-state-metrics


def node_of(labels: dict[str, str]) -> str | None:
    return next((labels[k] for k in NODE_LABELS if labels.get(k)), None)


@dataclass(frozen=True)
class GroupSummary:
    firing: int
    resolved: int
    by_name: list[tuple[str, int]]  # alert names of the firing alerts, most first
    top_nodes: list[tuple[str, int]]  # nodes with the most firing alerts, most first
    nodes: int  # how many nodes have a firing alert


def summarise(state: GroupState, top: int = 3, names: int = 4) -> GroupSummary:
    firing = state.firing
    counted = firing or list(state.alerts.values())  # a resolved storm is summarised by what it was
    by_name = Counter(a.labels.get("alertname", "?") for a in counted)
    by_node = Counter(n for a in counted if (n := node_of(a.labels)) is not None)

    def ranked(counts: Counter[str], n: int) -> list[tuple[str, int]]:
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    return GroupSummary(firing=len(firing), resolved=len(state.alerts) - len(firing),
                        by_name=ranked(by_name, names), top_nodes=ranked(by_node, top), nodes=len(by_node))
