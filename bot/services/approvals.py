"""Approvals: a launch the policy's ``approvals`` rules match waits for an approver's yes.

The request is stored with its deadline; its one decision (approve, deny, expire) is a SET NX, so two
approvers, or an approver and the expiry sweep, cannot both win. An approved request is submitted with
the preview's token as its idempotency key, exactly as a [Launch] click: a second approval, a retry or a
restart between the decision and the submit finds (or makes) the same single job.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any, Protocol

from bot.domain import messages as msg
from bot.domain.actions import to_dict
from bot.domain.errors import BackendError, ForbiddenError, Refusal
from bot.domain.jobs import JobRecord
from bot.domain.policy.approvals import NeedsApproval, may_approve
from bot.domain.policy.judge import Identity
from bot.render import replies as rendering
from bot.render.approvals import approval_card, approval_done, deny_modal
from bot.services.audit import record as audit
from bot.services.launch import LaunchService, Pending
from bot.services.needs import HasChat, HasClock, HasCluster, HasPolicy
from bot.services.ports import HasApprovals, HasAudit

log = logging.getLogger(__name__)


class ApprovalPorts(HasPolicy, HasCluster, HasChat, HasClock, HasAudit, HasApprovals, Protocol): ...


class ExtensionApplier(Protocol):
    """Who applies an approved extension, once (``JobControl``)."""

    def apply_approved(self, token: str, req: dict[str, Any], approver: str) -> bool: ...


def _is_extension(req: dict[str, Any]) -> bool:
    return req.get("kind") == "extend"


def _act(req: dict[str, Any], verb: str) -> str:
    """The audit action of a decision: ``launch.approved``, ``extend.denied``, ..."""
    return f"{'extend' if _is_extension(req) else 'launch'}.{verb}"


class ApprovalService:
    def __init__(self, rt: ApprovalPorts, launches: LaunchService) -> None:
        self.rt = rt
        self.launches = launches
        self.extensions: ExtensionApplier | None = None  # set by the composition (JobControl)

    # --- asking ----------------------------------------------------------------------------------

    def ask(self, p: Pending) -> rendering.Reply:
        """Post the approval card in the team's channel (once per preview) and tell the requester."""
        ttl = self.rt.policy.approval_ttl
        now = self.rt.clock()
        a, ident = p.launch, p.ident
        team = self.rt.policy.teams.get(ident.team)
        channel = (team.channel if team else None) or p.data.get("channel")
        request = {**p.data, "action": p.data["action"], "team": ident.team, "namespace": ident.namespace,
                   "rule": p.need.rule, "approvers": list(p.need.approvers), "reasons": list(p.need.reasons),
                   "asked_at": now, "deadline": now + ttl, "card_channel": channel, "judged": to_dict(a)}
        if self.rt.approvals.open(p.token, request, now + ttl, ttl):
            assert a.gpu_type is not None and a.image is not None and a.time_limit_s is not None
            what = msg.approval_what(a.gpus, a.gpu_type, a.nodes, a.time_limit_s, a.image, a.priority,
                                     ident.namespace)
            eta = self._eta(a.gpus, a.gpu_type)
            text = msg.approval_card_text(ident.user_id, p.data["name"], what, p.need.reasons, eta,
                                          p.need.approvers, now + ttl)
            ts = self.rt.cards.post(channel, approval_card(text, p.token)) if channel else None
            if channel and ts:
                self.rt.approvals.set_card(p.token, channel, ts)
            target = f"{ident.namespace}/{p.data['name']}"
            why = f"ok: asks {', '.join(p.need.approvers)} ({'; '.join(p.need.reasons)})"
            audit(self.rt, ident.user_id, ident.team, "launch.approval_requested", target, why)
        return rendering.text_reply(msg.approval_requested(p.data["name"], channel, p.need.approvers, ttl))

    def ask_extension(self, ident: Identity, r: JobRecord, by_s: int, new_limit: int, need: NeedsApproval) -> str:
        """`/gpu extend` that a rule matches: the approval card in the team's channel (once per ask)."""
        ttl, now = self.rt.policy.approval_ttl, self.rt.clock()
        seed = f"extend\0{r.key}\0{r.time_limit_s}\0{by_s}\0{ident.user_id}"
        token = "x" + hashlib.sha256(seed.encode()).hexdigest()[:19]  # a double click asks once
        team = self.rt.policy.teams.get(r.team)
        channel = (team.channel if team else None) or r.channel
        request = {"kind": "extend", "name": r.name, "namespace": r.namespace, "team": r.team,
                   "requester": ident.user_id, "by_s": by_s, "from_limit": r.time_limit_s, "rule": need.rule,
                   "approvers": list(need.approvers), "reasons": list(need.reasons), "asked_at": now,
                   "deadline": now + ttl, "card_channel": channel, "channel": channel}
        if self.rt.approvals.open(token, request, now + ttl, ttl):
            text = msg.extend_approval_card_text(ident.user_id, r.name, by_s, new_limit, need.reasons,
                                                 need.approvers, now + ttl)
            ts = self.rt.cards.post(channel, approval_card(text, token)) if channel else None
            if channel and ts:
                self.rt.approvals.set_card(token, channel, ts)
            audit(self.rt, ident.user_id, ident.team, "extend.approval_requested", r.key,
                  f"ok: +{by_s}s, asks {', '.join(need.approvers)} ({'; '.join(need.reasons)})")
        return msg.extend_approval_requested(r.name, by_s, channel, need.approvers, ttl)

    def _eta(self, gpus: int, gpu_type: str) -> str | None:
        try:
            free = self.rt.cluster.snapshot().facts.free(gpu_type)
        except BackendError:
            return None  # the card goes out without it rather than not at all
        return msg.approval_eta(free, gpus, gpu_type)

    # --- answering -------------------------------------------------------------------------------

    def _request(self, token: str) -> dict[str, Any]:
        req = self.rt.approvals.get(token)
        if req is None:
            raise ForbiddenError(msg.approval_gone(), None)
        return req

    def _need(self, req: dict[str, Any]) -> NeedsApproval:
        """The approvers as the policy says now (groups re-resolved, a reload applied), else as asked."""
        rules, i = self.rt.policy.approvals, int(req.get("rule", -1))
        approvers = tuple(rules[i].approvers) if 0 <= i < len(rules) else tuple(req["approvers"])
        return NeedsApproval(i, approvers, tuple(req.get("reasons", ())))

    def check_answerer(self, token: str, clicker: str) -> dict[str, Any]:
        """The request, if ``clicker`` may answer it; else the refusal that says why."""
        req = self._request(token)
        need = self._need(req)
        if clicker == req["requester"]:
            audit(self.rt, clicker, str(req.get("team", "")), _act(req, "approved"), self._target(req),
                  f"refused: the requester cannot approve their own {'extension' if _is_extension(req) else 'launch'}")
            raise ForbiddenError(msg.approval_not_yourself(), None)
        if not may_approve(need, req["requester"], clicker):
            raise ForbiddenError(msg.approval_not_approver(need.approvers), None)
        return req

    def _target(self, req: dict[str, Any]) -> str:
        return f"{req.get('namespace', '')}/{req['name']}"

    def _answered(self, req: dict[str, Any], dec: dict[str, Any]) -> ForbiddenError:
        if dec["verdict"] == "expired":
            return ForbiddenError(msg.approval_gone(), None)
        return ForbiddenError(msg.approval_answered(req["name"], dec["by"], dec["verdict"] == "approved"), None)

    def approve(self, token: str, clicker: str) -> rendering.Reply:
        req = self.check_answerer(token, clicker)
        ttl = self.rt.policy.approval_ttl
        decision = {"verdict": "approved", "by": clicker, "at": self.rt.clock()}
        won = self.rt.approvals.decide(token, decision, ttl)
        dec: dict[str, Any] = decision if won else (self.rt.approvals.decision(token) or decision)
        approver = str(dec["by"])
        if dec["verdict"] != "approved":
            raise self._answered(req, dec)
        if won:
            audit(self.rt, clicker, str(req.get("team", "")), _act(req, "approved"), self._target(req),
                  f"ok: for {req['requester']}")
        # Also when the decision was made before (a retry, or a crash before its submit): same token, one job.
        self._finish(token, req, approver)
        if not won and approver != clicker:
            raise self._answered(req, dec)
        return rendering.text_reply(self._approved_text(req, approver))

    def _approved_text(self, req: dict[str, Any], approver: str) -> str:
        if _is_extension(req):
            return msg.extend_approved_card(req["requester"], req["name"], int(req["by_s"]), approver)
        return msg.approval_approved_card(req["requester"], req["name"], approver)

    def _finish(self, token: str, req: dict[str, Any], approver: str) -> None:
        if _is_extension(req):
            applied = self.extensions is not None and self.extensions.apply_approved(token, req, approver)
            self.rt.approvals.submitted(token)
            if applied:
                self._close_card(token, self._approved_text(req, approver))
                self.rt.cards.dm(req["requester"], rendering.text_reply(
                    msg.extend_approved_dm(req["name"], int(req["by_s"]), approver)))
            return
        done = self.launches.submit_approved(token, req, approver)
        self.rt.approvals.submitted(token)
        if done.created:
            self._close_card(token, msg.approval_approved_card(req["requester"], req["name"], approver))
            self.rt.cards.dm(req["requester"], rendering.text_reply(msg.approval_approved_dm(req["name"], approver)))

    def deny_form(self, token: str, clicker: str, trigger_id: str) -> None:
        """[Deny]: the approver is checked first, then asked for a reason in a modal."""
        self.check_answerer(token, clicker)
        if self.rt.approvals.decision(token) is not None:
            raise ForbiddenError(msg.approval_gone(), None)
        self.rt.cards.open_view(trigger_id, deny_modal(token))

    def deny(self, token: str, clicker: str, reason: str) -> None:
        req = self.check_answerer(token, clicker)
        why = reason or msg.APPROVAL_NO_REASON
        decision = {"verdict": "denied", "by": clicker, "at": self.rt.clock(), "reason": why}
        if not self.rt.approvals.decide(token, decision, self.rt.policy.approval_ttl):
            raise self._answered(req, self.rt.approvals.decision(token) or decision)
        audit(self.rt, clicker, str(req.get("team", "")), _act(req, "denied"), self._target(req),
              f"ok: for {req['requester']}: {why}")
        ext = _is_extension(req)
        closed = msg.extend_denied_card if ext else msg.approval_denied_card
        self._close_card(token, closed(req["requester"], req["name"], clicker, why))
        dm = (msg.extend_denied_dm if ext else msg.approval_denied_dm)(req["name"], clicker, why)
        self.rt.cards.dm(req["requester"], rendering.text_reply(dm))

    # --- expiry ----------------------------------------------------------------------------------

    def finish_unfinished(self, grace_s: float = 30.0) -> int:
        """Approved requests whose submit a crash interrupted: submitted now (the same single job)."""
        tokens = self.rt.approvals.unfinished(self.rt.clock() - grace_s)
        for token in tokens:
            req, dec = self.rt.approvals.get(token), self.rt.approvals.decision(token)
            if req is None or dec is None:
                self.rt.approvals.submitted(token)  # gone with its TTL: nothing left to finish
                continue
            try:
                self._finish(token, req, str(dec["by"]))
            except Refusal as err:  # the policy changed meanwhile: the requester is told, the sweep moves on
                self.rt.approvals.submitted(token)
                audit(self.rt, req["requester"], str(req.get("team", "")),
                      "extend" if _is_extension(req) else "launch.submitted", self._target(req),
                      f"refused: {err.why}"[:500])
                self.rt.cards.dm(req["requester"], rendering.refusal(err))
        return len(tokens)

    def expire_due(self) -> int:
        """Close every request past its deadline that nobody answered (and finish interrupted approvals)."""
        self.finish_unfinished()
        now, closed = self.rt.clock(), 0
        for token in self.rt.approvals.due(now):
            req = self.rt.approvals.get(token)
            decision = {"verdict": "expired", "by": "", "at": now}
            if not self.rt.approvals.decide(token, decision, self.rt.policy.approval_ttl) or req is None:
                continue
            ttl = int(req["deadline"] - req["asked_at"])
            audit(self.rt, "", str(req.get("team", "")), _act(req, "expired"), self._target(req),
                  f"ok: unanswered after {ttl}s, asked by {req['requester']}")
            ext = _is_extension(req)
            self._close_card(token, (msg.extend_expired_card if ext else msg.approval_expired_card)(
                req["requester"], req["name"], ttl))
            dm = (msg.extend_expired_dm if ext else msg.approval_expired_dm)(req["name"], ttl)
            self.rt.cards.dm(req["requester"], rendering.text_reply(dm))
            closed += 1
        return closed

    def _close_card(self, token: str, text: str) -> None:
        card = self.rt.approvals.card(token)
        if card is not None:
            self.rt.cards.update(card[0], card[1], approval_done(text))
