"""Several clusters, for the dispatcher: pools per (cluster, GPU type), and what unreachability means.

``pooled`` turns one pass's books into the scheduler's view with one pool per (cluster, GPU type)
and a cluster chosen for each queued job (``bot.domain.scheduling.pools``); ``follow`` writes what a
cluster that does not answer means for the books: its running jobs' cards say so (they are not
failed), and the queued jobs that have no other cluster wait with that reason. With one cluster the
dispatcher does not call any of this.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from bot.domain import messages as msg
from bot.domain.cluster.snapshot import Snapshot
from bot.domain.jobs import JobRecord
from bot.domain.policy.clusters import cluster_names
from bot.domain.policy.config import Policy
from bot.domain.scheduling.cycle import Books
from bot.domain.scheduling.pools import Placement, place, pooled_facts, pooled_policy, pooled_record
from bot.services.cards import publish_card
from bot.services.needs import DispatcherPorts

Fence = tuple[str, str] | None


def pooled(policy: Policy, books: Books, snap: Snapshot) -> tuple[Policy, Books, Placement]:
    """(the policy with a pool per (cluster, GPU type), the books in pools, where each queued job goes)."""
    facts = pooled_facts(books.facts)
    home = cluster_names(policy)[0]
    active = [pooled_record(r, r.cluster or home) for r in books.active]
    placement = place(policy, [r for r, _ in books.queued], facts, snap.unreachable)
    queued = [(pooled_record(r, placement.cluster[r.key]), seq) for r, seq in books.queued
              if r.key in placement.cluster]
    return pooled_policy(policy), dataclasses.replace(books, facts=facts, active=active, queued=queued), placement


def follow(rt: DispatcherPorts, snap: Snapshot, active: Sequence[JobRecord], placement: Placement,
           queued: Mapping[str, JobRecord], fence: Fence) -> None:
    """Cards of running jobs on a cluster that does not answer (and again when it does); queued jobs
    with nowhere to go told why."""
    down = snap.unreachable
    for r in active:
        since = down.get(r.cluster) if r.cluster else None
        if since != r.unreachable_since:
            updated = rt.store.update(r.namespace, r.name, lease=fence, unreachable_since=since)
            if updated is not None:
                publish_card(rt, updated)
    for key, (cluster, since) in placement.blocked.items():
        r = queued[key]
        reason = msg.cluster_wait_unreachable(cluster, since)
        if r.reason != reason:
            updated = rt.store.update(r.namespace, r.name, lease=fence, reason=reason, eta=None)
            if updated is not None and updated.state == "queued":
                publish_card(rt, updated)
