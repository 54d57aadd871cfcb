"""``--after``: dependencies checked at submit (known, visible, acyclic, still satisfiable) and followed
afterwards (``DependencyPass``): a parked job is let into the queue once its dependencies are met, and
cancelled, its owner told why, once one can never be.

A dependency names the record it was resolved to by idempotency key, so reusing a name later never
redirects it to another job.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Protocol

from bot.domain import messages as msg
from bot.domain.actions import Launch
from bot.domain.errors import NotFoundError, ValidationError
from bot.domain.jobs import JobRecord
from bot.domain.policy.judge import Identity, may_see
from bot.domain.scheduling.dependencies import find_cycle, overall, verdict
from bot.render.replies import Reply
from bot.services.cards import publish_card
from bot.services.needs import CardPorts, HasWake
from bot.services.ports import JobQueue

log = logging.getLogger(__name__)


def _lookup(store: JobQueue, ident: Identity, name: str) -> JobRecord | None:
    """The job ``name`` the asker may see: their namespace first, then the newest visible one."""
    record = store.get(ident.namespace, name) if ident.namespace else None
    if record is None:
        found = [r for r in store.find(name) if may_see(ident, r)]
        record = found[0] if found else None
    return record if record is not None and may_see(ident, record) else None


def _without(a: Launch, job: str) -> Launch:
    return dataclasses.replace(a, after=tuple(d for d in a.after if d.job != job))


def resolve_after(store: JobQueue, ident: Identity, a: Launch, name: str) -> tuple[list[dict[str, str]], bool]:
    """The launch's dependencies as stored on its record, and whether they are all met already.

    Refused (with the launch that would pass as the fix): a job not found, the job itself, a cycle,
    a job that already ended so that its condition can never hold."""
    out: list[dict[str, str]] = []
    states: list[tuple[str, str | None]] = []
    own = f"{ident.namespace}/{name}"
    for dep in a.after:
        if dep.job == name:
            raise ValidationError(msg.after_self(dep.job), _without(a, dep.job))
        record = _lookup(store, ident, dep.job)
        if record is None:
            raise NotFoundError(msg.after_unknown(dep.job), _without(a, dep.job))
        if verdict(dep.condition, record.state) == "never":
            raise ValidationError(msg.after_never(dep.job, record.state, dep.condition), _without(a, dep.job))

        def edges(key: str) -> list[str]:
            ns, _, job = key.partition("/")  # an archived record's key ("name#seq") is its store key too
            r = store.get(ns, job)
            return [d["key"] for d in r.after] if r is not None and not r.after_met else []

        cycle = find_cycle(own, [record.key], edges)
        if cycle is not None:
            raise ValidationError(msg.after_cycle([k.partition("/")[2] for k in cycle]), _without(a, dep.job))
        out.append({"job": dep.job, "key": record.key, "idem": record.idempotency_key,
                    "condition": dep.condition})
        states.append((dep.condition, record.state))
    met, _ = overall(states)
    return out, met == "met"


def first_waited(store: JobQueue, after: list[dict[str, str]]) -> str | None:
    """The reason a parked job shows: the first dependency it still waits on."""
    for dep in after:
        r = store.get_by_idempotency_key(dep["idem"]) if dep.get("idem") else None
        if r is None or verdict(dep["condition"], r.state) == "wait":
            return msg.waiting_for(dep["job"], dep["condition"])
    return None


class DepPorts(CardPorts, HasWake, Protocol): ...


class DependencyPass:
    """One pass over the parked jobs that wait on dependencies: let in, cancel, or leave waiting."""

    def __init__(self, rt: DepPorts) -> None:
        self.rt = rt

    def run_pass(self) -> tuple[list[str], list[str]]:
        """(keys let into the queue, keys cancelled)."""
        let_in: list[str] = []
        cancelled: list[str] = []
        for r in self.rt.store.parked():
            if r.held_by and r.reason != msg.held_reason(r.held_by):
                self._mend_reason(r, msg.held_reason(r.held_by))  # a dispatcher pass in flight wrote over it
            if not r.after or r.after_met:
                continue
            deps = [self.rt.store.get_by_idempotency_key(d["idem"]) if d.get("idem") else None for d in r.after]
            decision, which = overall([(d["condition"], dep.state if dep else None)
                                       for d, dep in zip(r.after, deps, strict=True)])
            if decision == "met":
                if self._let_in(r):
                    let_in.append(r.key)
            elif decision == "never" and which is not None:
                dep, dep_record = r.after[which], deps[which]
                if self._cancel(r, dep, dep_record.state if dep_record else "was removed"):
                    cancelled.append(r.key)
            else:
                reason = msg.waiting_for(r.after[which or 0]["job"], r.after[which or 0]["condition"])
                if r.reason != reason and r.held_by is None:
                    self._mend_reason(r, reason)
        if let_in:
            self.rt.wake_dispatcher()
        return let_in, cancelled

    def _mend_reason(self, r: JobRecord, reason: str) -> None:
        updated = self.rt.store.repark(r.namespace, r.name, reason=reason, eta=None)
        if updated is not None:
            publish_card(self.rt, updated)

    def _let_in(self, r: JobRecord) -> bool:
        reason = r.reason if r.held_by else None
        updated = self.rt.store.repark(r.namespace, r.name, after_met=True, reason=reason)
        if updated is None:
            return False
        publish_card(self.rt, updated)
        return True

    def _cancel(self, r: JobRecord, dep: dict[str, str], state: str) -> bool:
        reason = msg.dependency_never(dep["job"], state, dep["condition"])
        done = self.rt.store.transition(r.namespace, r.name, ["queued"], "stopped",
                                        finished_at=self.rt.clock(), reason=reason)
        if done is None:
            return False
        publish_card(self.rt, done)
        text = msg.dependency_cancelled_dm(r.name, dep["job"], state, dep["condition"])
        self.rt.cards.dm(r.owner, Reply(text=text, blocks=[]))
        return True
