"""ClusterQueue quota: per-flavor nominal quota, cohort borrowing, flavor assignment and preemption targets.

Pure over the objects' dicts; the controller builds a ``Snapshot`` each cycle, as Kueue's cache does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from bot.domain.cluster.objects import Obj
from bot.domain.resources import quantity_value
from bot.sim.kueue.workloads import MAIN, cond, fmt_quantity, is_true, usage_of

Key = tuple[str, str]  # (flavor, resource)
REASON_TEXT = {"InClusterQueue": "prioritization in the ClusterQueue",
               "InCohortReclamation": "reclamation within the cohort"}


@dataclass(slots=True)
class Admitted:
    wl: Obj
    queue: str
    priority: int
    since: str  # when quota was reserved: newest admitted are preempted first
    usage: dict[Key, Decimal]


@dataclass(slots=True)
class Queue:
    name: str
    cohort: str | None
    covered: dict[str, list[str]]  # resource → flavors in the order of the ClusterQueue
    nominal: dict[Key, Decimal]
    borrowing_limit: dict[Key, Decimal]
    within: str  # preemption.withinClusterQueue
    reclaim: str  # preemption.reclaimWithinCohort
    usage: dict[Key, Decimal] = field(default_factory=dict)
    admitted: list[Admitted] = field(default_factory=list)


def parse_queue(cq: Obj) -> Queue:
    spec = cq.get("spec") or {}
    covered: dict[str, list[str]] = {}
    nominal: dict[Key, Decimal] = {}
    limits: dict[Key, Decimal] = {}
    for group in spec.get("resourceGroups") or []:
        for fl in group.get("flavors") or []:
            for r in fl.get("resources") or []:
                covered.setdefault(r["name"], []).append(fl["name"])
                nominal[(fl["name"], r["name"])] = quantity_value(str(r.get("nominalQuota", "0")))
                if r.get("borrowingLimit") is not None:
                    limits[(fl["name"], r["name"])] = quantity_value(str(r["borrowingLimit"]))
    pre = spec.get("preemption") or {}
    return Queue(cq["metadata"]["name"], spec.get("cohortName") or spec.get("cohort"), covered, nominal, limits,
                 pre.get("withinClusterQueue", "Never"), pre.get("reclaimWithinCohort", "Never"))


class Snapshot:
    def __init__(self, queues: list[Queue], flavors: dict[str, Obj]) -> None:
        self.queues = {q.name: q for q in queues}
        self.flavors = flavors

    def add(self, a: Admitted) -> None:
        q = self.queues.get(a.queue)
        if q is None:
            return
        q.admitted.append(a)
        for k, v in a.usage.items():
            q.usage[k] = q.usage.get(k, Decimal(0)) + v

    def remove(self, a: Admitted) -> None:
        q = self.queues[a.queue]
        q.admitted = [x for x in q.admitted if x is not a]
        for k, v in a.usage.items():
            q.usage[k] = q.usage.get(k, Decimal(0)) - v

    def members(self, q: Queue) -> list[Queue]:
        return [o for o in self.queues.values() if q.cohort and o.cohort == q.cohort] or [q]

    def available(self, q: Queue, key: Key) -> Decimal:
        """What ``q`` can still take in ``key``: its unused nominal quota plus what the cohort has unused."""
        own = q.nominal.get(key, Decimal(0)) - q.usage.get(key, Decimal(0))
        if not q.cohort:
            return own
        pool = sum((o.nominal.get(key, Decimal(0)) - o.usage.get(key, Decimal(0)) for o in self.members(q)),
                   Decimal(0))
        if key in q.borrowing_limit:
            pool = min(pool, own + q.borrowing_limit[key])
        return pool

    def would_borrow(self, q: Queue, requests: dict[str, Decimal], node_selector: dict[str, str]) -> bool:
        """True when no flavor of ``q`` the pods may use holds ``requests`` within its nominal quota."""
        wanted = {r: v for r, v in requests.items() if v > 0}
        flavors = {f for r in wanted for f in q.covered.get(r, [])
                   if f in self.flavors and _affinity_ok(self.flavors[f], node_selector)}
        return not any(all(q.usage.get((f, r), Decimal(0)) + v <= q.nominal.get((f, r), Decimal(-1))
                           for r, v in wanted.items()) for f in flavors)

    def borrowing(self, q: Queue, flavor: str) -> bool:
        return any(v > q.nominal.get(k, Decimal(0)) for k, v in q.usage.items() if k[0] == flavor)


def _affinity_ok(flavor: Obj, node_selector: dict[str, str]) -> bool:
    labels = (flavor.get("spec") or {}).get("nodeLabels") or {}
    return all(node_selector.get(k, v) == v for k, v in labels.items())


@dataclass(slots=True)
class Assignment:
    flavors: dict[str, str] | None  # resource → flavor when it fits
    message: str
    preempt: list[tuple[Admitted, str]]  # targets and their Preempted reasons (empty: nothing to preempt)


def assign(snap: Snapshot, q: Queue, requests: dict[str, Decimal], node_selector: dict[str, str],
           priority: int) -> Assignment:
    """Kueue's flavor assigner for one PodSet: the first flavor (in queue order) where every resource fits."""
    wanted = {r: v for r, v in requests.items() if v > 0}
    for r in sorted(wanted):
        if r not in q.covered:
            return Assignment(None, f"couldn't assign flavors to pod set {MAIN}: resource {r} unavailable in "
                                    "ClusterQueue", [])
    candidates = list(dict.fromkeys(f for r in sorted(wanted) for f in q.covered[r]))
    reasons: list[str] = []
    preemptible: list[tuple[str, list[tuple[Admitted, str]]]] = []
    for fl in candidates:
        flavor = snap.flavors.get(fl)
        if flavor is None:
            reasons.append(f"flavor {fl} not found")
            continue
        if not _affinity_ok(flavor, node_selector):
            reasons.append(f"flavor {fl} doesn't match node affinity")
            continue
        if any(fl not in q.covered[r] for r in wanted):
            continue
        short = [(r, v - snap.available(q, (fl, r))) for r, v in sorted(wanted.items())
                 if v > snap.available(q, (fl, r))]
        if not short:
            return Assignment({r: fl for r in wanted}, "", [])
        reasons += [f"insufficient unused quota for {r} in flavor {fl}, {fmt_quantity(n)} more needed"
                    for r, n in short]
        targets = preemption_targets(snap, q, fl, wanted, priority)
        if targets:
            preemptible.append((fl, targets))
    message = f"couldn't assign flavors to pod set {MAIN}: {', '.join(reasons)}"
    if preemptible:
        targets = preemptible[0][1]
        return Assignment(None, f"{message}. Pending the preemption of {len(targets)} workload(s)", targets)
    return Assignment(None, message, [])


def preemption_targets(snap: Snapshot, q: Queue, fl: str, wanted: dict[str, Decimal],
                       priority: int) -> list[tuple[Admitted, str]]:
    """Workloads whose eviction lets the request fit: borrowers of the cohort (reclaimWithinCohort) when
    the request is within the queue's nominal quota, lower priorities of the queue (withinClusterQueue)."""
    within_nominal = all(q.usage.get((fl, r), Decimal(0)) + v <= q.nominal.get((fl, r), Decimal(0))
                         for r, v in wanted.items())
    cands: list[tuple[Admitted, str, Queue]] = []
    if within_nominal and q.reclaim != "Never" and q.cohort:
        for other in snap.members(q):
            if other is q:
                continue
            cands += [(a, "InCohortReclamation", other) for a in other.admitted
                      if any(k[0] == fl for k in a.usage) and (q.reclaim == "Any" or a.priority < priority)]
    if q.within in ("LowerPriority", "LowerOrNewerEqualPriority"):
        cands += [(a, "InClusterQueue", q) for a in q.admitted
                  if any(k[0] == fl for k in a.usage) and a.priority < priority]
    # Other queues' borrowers first, then the lowest priority, then the most recently admitted.
    # Workloads already being evicted count as gone, so a second cycle does not pick more victims.
    chosen: list[tuple[Admitted, str]] = []
    for other in snap.members(q):
        for a in list(other.admitted):
            if is_true(a.wl, "Evicted") and any(k[0] == fl for k in a.usage):
                snap.remove(a)
                chosen.append((a, str((cond(a.wl, "Preempted") or {}).get("reason") or "InClusterQueue")))
    cands = [c for c in cands if not is_true(c[0].wl, "Evicted")]
    cands.sort(key=lambda c: (c[2] is q, c[0].priority, _neg(c[0].since)))
    for a, reason, owner in cands:
        if all(v <= snap.available(q, (fl, r)) for r, v in wanted.items()):
            break
        if owner is not q and not snap.borrowing(owner, fl):
            continue  # reclaim only what the other queue borrows
        snap.remove(a)
        chosen.append((a, reason))
    fits = all(v <= snap.available(q, (fl, r)) for r, v in wanted.items())
    for a, _reason in chosen:
        snap.add(a)
    return chosen if fits else []


def _neg(text: str) -> tuple[int, ...]:
    return tuple(-ord(ch) for ch in text)


def admitted_from(wl: Obj, priority: int, since: str) -> Admitted:
    queue = str(((wl.get("status") or {}).get("admission") or {}).get("clusterQueue", ""))
    return Admitted(wl, queue, priority, since, usage_of(wl))
