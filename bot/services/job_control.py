"""Changing a job in place: extend its time limit, hold / release it in the queue, requeue it.

Each verb acts once per request (a Slack retry of the same request gets the first answer, see
``once``), checks ownership (owner or admin) and the policy, and re-reads the record it changes: every
write is a compare-and-set, so a job that moved on meanwhile is said so rather than assumed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any, Protocol

from bot.domain import messages as msg
from bot.domain.actions import Extend, Hold, ListJobs, Release, Requeue, Status
from bot.domain.errors import ForbiddenError, NotFoundError, PolicyError, ValidationError
from bot.domain.jobs import ACTIVE_STATES, RUNNING_STATES, JobRecord
from bot.domain.policy.approvals import NeedsApproval, allows_beyond_max, extension_approval_needed
from bot.domain.policy.job_control import check_owner, extended_limit
from bot.domain.policy.judge import Identity, identify, may_see
from bot.render import replies as rendering
from bot.services.audit import record as audit
from bot.services.cards import publish_card
from bot.services.dependencies import first_waited
from bot.services.jobs import JobsService
from bot.services.needs import HasNoticeMarks, JobsPorts

DONE_TTL_S = 15 * 60


class ControlPorts(JobsPorts, HasNoticeMarks, Protocol): ...


class ExtensionAsker(Protocol):
    """Who posts an extension's approval card (``ApprovalService``)."""

    def ask_extension(self, ident: Identity, r: JobRecord, by_s: int, new_limit: int, need: NeedsApproval) -> str: ...


class JobControl:
    def __init__(self, rt: ControlPorts, jobs: JobsService, approvals: ExtensionAsker | None = None) -> None:
        self.rt = rt
        self.jobs = jobs
        self.approvals = approvals  # None: extensions are never sent for approval

    def once(self, verb: str, user_id: str, request_key: str, work: Callable[[], str]) -> rendering.Reply:
        """Do ``work`` once per (verb, user, request): a retry of the request answers what the first said."""
        token = "done-" + hashlib.sha256(f"{verb}\0{user_id}\0{request_key}".encode()).hexdigest()[:20]
        if request_key:
            seen = self.rt.previews.get(token)
            if seen is not None:
                return rendering.text_reply(str(seen.get("text", msg.nothing_changed())))
            if not self.rt.notice_marks.first(token, verb):  # another worker has it in hand
                return rendering.text_reply(msg.nothing_changed())
        try:
            text = work()
        except Exception:
            if request_key:
                self.rt.notice_marks.forget(token, verb)  # refused or failed: a retry may try again
            raise
        if request_key:
            self.rt.previews.put(token, {"kind": "done", "text": text}, ttl_s=DONE_TTL_S)
        return rendering.text_reply(text)

    # --- extend ------------------------------------------------------------------------------------

    def extend(self, action: Extend, user_id: str, *, expect_limit: int | None = None) -> str:
        """Add ``by_s`` to the time limit; ``expect_limit`` (a button): only if it is still that."""
        ident = identify(self.rt.policy, user_id)
        r = self.jobs.find(ident, action.job)
        if expect_limit is not None and r.time_limit_s != expect_limit:
            return msg.extended(r.name, 0, r.time_limit_s, False, None)  # extended already (a double click)
        policy = self.rt.policy
        need = extension_approval_needed(policy, r, action.by_s) if self.approvals is not None else None
        # an extension the approvals match is judged as approved (an approver stands in for an admin)
        new = extended_limit(policy, ident, r, action.by_s, approved=need is not None,
                             beyond_max=need is not None and allows_beyond_max(policy, need))
        if r.kind != "job" and r.state in RUNNING_STATES:
            # a running JobSet's or TrainJob's deadline lives in objects its controller owns
            raise ValidationError(msg.extend_not_for_kind(r.name, r.kind), None)
        if need is not None and self.approvals is not None:
            return self.approvals.ask_extension(ident, r, action.by_s, new, need)
        return self._apply(ident, r, action.by_s, new)

    def apply_approved(self, token: str, req: dict[str, Any], approver: str) -> bool:
        """An approved extension, applied once: not if the job's limit moved since it was asked (applied
        already, or changed otherwise), and only by the first to mark it (two approvers, a retry, the sweep)."""
        r = self.rt.store.get(str(req["namespace"]), str(req["name"]))
        if r is None or r.state not in ACTIVE_STATES or r.time_limit_s != int(req["from_limit"]):
            return False
        if not self.rt.notice_marks.first(token, "extension-applied"):
            return False
        ident = identify(self.rt.policy, str(req["requester"]))
        by_s = int(req["by_s"])
        self._apply(ident, r, by_s, r.time_limit_s + by_s, approver)
        return True

    def _apply(self, ident: Identity, r: JobRecord, by_s: int, new: int, approver: str | None = None) -> str:
        updated = self.rt.store.update(r.namespace, r.name, time_limit_s=new)
        if updated is None:
            raise NotFoundError(msg.job_not_found(r.name, []), ListJobs())
        # The Job follows the record: an admission racing this update still gets the new deadline.
        if updated.state in RUNNING_STATES and (updated.created_at or self.rt.cluster.job_exists(r.namespace, r.name)):
            self.rt.cluster.set_deadline(r.namespace, r.name, new)  # False: it ended meanwhile (the watcher says how)
        publish_card(self.rt, updated)
        approval = f", approved by {approver}" if approver else ""
        audit(self.rt, ident.user_id, ident.team, "extend", r.key,
              f"ok: time limit {r.time_limit_s}s → {new}s{approval}")
        self.rt.wake_dispatcher()  # the ETAs of the jobs behind move with it
        start = updated.started_at or updated.admitted_at
        running = updated.state in RUNNING_STATES
        return msg.extended(r.name, by_s, new, running, start + new if running and start else None)

    # --- hold / release ------------------------------------------------------------------------------

    def _records(self, ident: Identity, names: tuple[str, ...], verb: str) -> list[JobRecord]:
        records = [self.jobs.find(ident, n) for n in names]
        for r in records:
            check_owner(ident, r, verb)
        return records

    def by_key(self, verb: str, key: str, user_id: str) -> str:
        """A card's [Hold] / [Release] button: the very job of that card (its namespace and name)."""
        ident = identify(self.rt.policy, user_id)
        namespace, _, name = key.partition("/")
        r = self.rt.store.get(namespace, name)
        if r is None or not may_see(ident, r):
            raise NotFoundError(msg.job_not_found(name, []), ListJobs())
        check_owner(ident, r, verb)
        return self._hold(ident, [r], 1) if verb == "hold" else self._release(ident, [r], 1)

    def hold(self, action: Hold, user_id: str) -> str:
        ident = identify(self.rt.policy, user_id)
        return self._hold(ident, self._records(ident, action.jobs, "hold"), len(action.jobs))

    def _hold(self, ident: Identity, records: list[JobRecord], asked: int) -> str:
        done: list[str] = []
        lines: list[str] = []
        for r in records:
            if r.held_by:
                lines.append(msg.already_held(r.name))
                continue
            if r.state != "queued":
                if asked == 1:
                    raise PolicyError(msg.cannot_hold_state(r.name, r.state), Status(job=r.name))
                lines.append(msg.cannot_hold_state(r.name, r.state))
                continue
            updated = self.rt.store.repark(r.namespace, r.name, held_by=ident.user_id,
                                           reason=msg.held_reason(ident.user_id), eta=None)
            if updated is None:  # admitted (or stopped) between the read and the write
                fresh = self.rt.store.get(r.namespace, r.name) or r
                lines.append(msg.cannot_hold_state(r.name, fresh.state))
                continue
            publish_card(self.rt, updated)
            audit(self.rt, ident.user_id, ident.team, "hold", r.key)
            done.append(r.name)
        if done:
            self.rt.wake_dispatcher()
        return "\n".join(([msg.held(done)] if done else []) + lines) or msg.nothing_changed()

    def release(self, action: Release, user_id: str) -> str:
        ident = identify(self.rt.policy, user_id)
        return self._release(ident, self._records(ident, action.jobs, "release"), len(action.jobs))

    def _release(self, ident: Identity, records: list[JobRecord], asked: int) -> str:
        done: list[str] = []
        lines: list[str] = []
        for r in records:
            if not r.held_by or r.state != "queued":
                if asked == 1:
                    raise PolicyError(msg.not_held(r.name), Status(job=r.name))
                lines.append(msg.not_held(r.name))
                continue
            if r.held_by != r.owner and not ident.is_admin:  # an admin's hold is an admin's to lift
                raise ForbiddenError(msg.held_by_admin(r.name, r.held_by), Status(job=r.name))
            reason = first_waited(self.rt.store, r.after) if r.after and not r.after_met else None
            updated = self.rt.store.repark(r.namespace, r.name, held_by=None, reason=reason)
            if updated is None:
                lines.append(msg.not_held(r.name))
                continue
            publish_card(self.rt, updated)
            audit(self.rt, ident.user_id, ident.team, "release", r.key)
            done.append(r.name)
        if done:
            self.rt.wake_dispatcher()
        return "\n".join(([msg.released(done)] if done else []) + lines) or msg.nothing_changed()

    # --- requeue ---------------------------------------------------------------------------------------

    def requeue(self, action: Requeue, user_id: str) -> str:
        ident = identify(self.rt.policy, user_id)
        grace = self.rt.policy.job_defaults.termination_grace_period_s
        done: list[str] = []
        lines: list[str] = []
        for r in self._records(ident, action.jobs, "requeue"):
            if r.state not in RUNNING_STATES:
                if len(action.jobs) == 1:
                    raise PolicyError(msg.cannot_requeue_state(r.name, r.state), Status(job=r.name))
                lines.append(msg.cannot_requeue_state(r.name, r.state))
                continue
            # Back to the queue first, then delete (as a preemption does): a crash in between leaves a
            # queued record with a live Job, which the dispatcher marks running again; nothing is lost.
            queued = self.rt.store.transition(
                r.namespace, r.name, RUNNING_STATES, "queued", reason=msg.requeued_reason(ident.user_id),
                admitted_at=None, created_at=None, started_at=None, over_quota=False, eta=None, node_names=[],
                making_room=False,
            )
            if queued is None:
                fresh = self.rt.store.get(r.namespace, r.name) or r
                lines.append(msg.cannot_requeue_state(r.name, fresh.state))
                continue
            self.rt.cluster.preempt_job(r.namespace, r.name, grace)
            publish_card(self.rt, queued)
            audit(self.rt, ident.user_id, ident.team, "requeue", r.key, f"ok: was {r.state}")
            done.append(r.name)
        if done:
            self.rt.wake_dispatcher()
        return "\n".join(([msg.requeued(done, grace)] if done else []) + lines) or msg.nothing_changed()
