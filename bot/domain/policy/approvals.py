"""Which launches (and `/gpu extend`s) need a second person's yes: the policy's ``approvals`` rules,
first match wins. A rule with ``extend_over`` or ``over_max_time`` is about extensions only; the others
are about launches only."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import messages as msg
from bot.domain.actions import Launch
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import Policy
from bot.domain.policy.org import ApprovalRule


@dataclass(frozen=True)
class NeedsApproval:
    rule: int  # its index in ``approvals``
    approvers: tuple[str, ...]  # user IDs once groups are resolved
    reasons: tuple[str, ...]  # why, one phrase per condition ("more than 16 GPUs")


def _reasons(rule: ApprovalRule, a: Launch, team_in_use: int, quota: int) -> list[str] | None:
    w, out = rule.when, []
    if w.gpus_over is not None:
        if a.gpus <= w.gpus_over:
            return None
        out.append(msg.approval_reason_gpus(w.gpus_over))
    if w.priority is not None:
        if a.priority != w.priority:
            return None
        out.append(msg.approval_reason_priority(w.priority))
    if w.time_over is not None:
        if a.time_limit_s is None or a.time_limit_s <= w.time_over:
            return None
        out.append(msg.approval_reason_time(w.time_over))
    if w.over_quota is not None:
        if (team_in_use + a.gpus > quota) != w.over_quota:
            return None
        out.append(msg.approval_reason_over_quota(team_in_use, quota) if w.over_quota else
                   msg.approval_reason_in_quota())
    if w.template is not None:
        if a.template != w.template:
            return None
        out.append(msg.approval_reason_template(w.template))
    return out


def approval_needed(policy: Policy, team: str, a: Launch, team_in_use: int) -> NeedsApproval | None:
    """The first rule the judged launch ``a`` matches (its team holds or waits for ``team_in_use`` GPUs)."""
    quota = policy.teams[team].gpu_quota if team in policy.teams else 0
    for i, rule in enumerate(policy.approvals):
        if rule.when.extension:
            continue
        reasons = _reasons(rule, a, team_in_use, quota)
        if reasons is not None:
            return NeedsApproval(i, tuple(rule.approvers), tuple(reasons))
    return None


def may_approve(need: NeedsApproval, requester: str, clicker: str) -> bool:
    return clicker != requester and clicker in need.approvers


def _extension_reasons(rule: ApprovalRule, r: JobRecord, by_s: int, max_time_s: int) -> list[str] | None:
    w, out = rule.when, []
    new = r.time_limit_s + by_s
    if w.extend_over is not None:
        if by_s <= w.extend_over:
            return None
        out.append(msg.approval_reason_extend(w.extend_over))
    if w.over_max_time is not None:
        if (new > max_time_s) != w.over_max_time:
            return None
        if w.over_max_time:
            out.append(msg.approval_reason_beyond_max(max_time_s))
    if w.gpus_over is not None:
        if r.gpus <= w.gpus_over:
            return None
        out.append(msg.approval_reason_gpus(w.gpus_over))
    if w.priority is not None:
        if r.priority != w.priority:
            return None
        out.append(msg.approval_reason_priority(w.priority))
    if w.time_over is not None:
        if new <= w.time_over:
            return None
        out.append(msg.approval_reason_time(w.time_over))
    if w.template is not None:
        if r.template != w.template:
            return None
        out.append(msg.approval_reason_template(w.template))
    return out


def extension_approval_needed(policy: Policy, r: JobRecord, by_s: int) -> NeedsApproval | None:
    """The first extension rule that extending ``r`` by ``by_s`` matches."""
    for i, rule in enumerate(policy.approvals):
        if rule.when.extension:
            reasons = _extension_reasons(rule, r, by_s, policy.limits.max_time_limit)
            if reasons is not None:
                return NeedsApproval(i, tuple(rule.approvers), tuple(reasons))
    return None


def allows_beyond_max(policy: Policy, need: NeedsApproval) -> bool:
    """An approval under an ``over_max_time`` rule may take the job past limits.max_time_limit."""
    rules = policy.approvals
    return 0 <= need.rule < len(rules) and rules[need.rule].when.over_max_time is True
