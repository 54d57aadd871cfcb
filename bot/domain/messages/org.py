"""User-facing text: the audit trail, Slack user groups, approvals, config reloads."""

from __future__ import annotations

from datetime import UTC, datetime


def _dur(seconds: int) -> str:
    from bot.domain.durations import format_duration

    return format_duration(seconds)


def _people(ids: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f"<@{u}>" for u in ids) or "nobody (the policy's approvers resolve to no one)"


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- audit ---------------------------------------------------------------------------------------

def audit_admins_only(user_id: str, admins: list[str]) -> str:
    return (f"The audit trail is for admins only, and you (<@{user_id}>) are not one of the policy's `admins`. "
            f"Ask an admin ({_people(admins) if admins else 'none are set'}) to look it up.")


def audit_title(days: int, user: str | None) -> str:
    who = f" by <@{user}>" if user else ""
    return f"*Audit trail*{who}, last {days} day{'s' if days != 1 else ''} (newest first)"


def audit_empty(days: int, user: str | None) -> str:
    who = f" by <@{user}>" if user else ""
    return f"No audit entries{who} in the last {days} day{'s' if days != 1 else ''}."


def audit_line(time: float, user: str, team: str, action: str, target: str, result: str, request_id: str) -> str:
    who = f"<@{user}>" if user else "the bot"
    team_part = f" ({team})" if team else ""
    rid = f" · req `{request_id}`" if request_id else ""
    return f"`{_when(time)}` {who}{team_part} *{action}* `{target}` → {result}{rid}"


AUDIT_OLDER = "Older entries"


def audit_bad_page() -> str:
    return "That page of the audit trail cannot be read back; ask for the trail again."


def parse_bad_audit_user(value: str) -> str:
    return f"`--user` takes a Slack user: a mention (@name) or an ID like `U0123ABC`, not `{value}`."


def audit_export_bad_since(value: str, why: str) -> str:
    return f"--since {value}: {why}; write e.g. --since 30d or --since 12h"


# --- user groups ---------------------------------------------------------------------------------

def in_two_teams(user_id: str, teams: tuple[str, ...]) -> str:
    names = " and ".join(f"`{t}`" for t in teams)
    return (f"You (<@{user_id}>) are in the Slack user groups of two teams, {names}, and a person belongs to one "
            "team. Ask an admin to take you out of one team's group (or the policy's `members`).")


def groups_resolved_at_run_time(groups: list[str]) -> str:
    return (f"warning: {', '.join(groups)} are Slack user groups: their members are resolved at run time "
            "(usergroups.list, scope usergroups:read), so this check cannot see who is in them, nor whether "
            "someone ends up in two teams")


# --- approvals -----------------------------------------------------------------------------------

def approval_reason_gpus(limit: int) -> str:
    return f"more than {limit} GPUs"


def approval_reason_priority(priority: str) -> str:
    return f"priority {priority}"


def approval_reason_time(limit_s: int) -> str:
    return f"longer than {_dur(limit_s)}"


def approval_reason_over_quota(in_use: int, quota: int) -> str:
    return f"over the team's quota ({in_use} of {quota} GPUs already held or queued)"


def approval_reason_in_quota() -> str:
    return "within the team's quota"


def approval_reason_template(name: str) -> str:
    return f"template `{name}`"


def approval_needed_note(approvers: tuple[str, ...], reasons: tuple[str, ...]) -> str:
    return (f":lock: Needs approval ({'; '.join(reasons)}): [Launch] asks {_people(approvers)}; "
            "the job is submitted when one of them approves.")


def approval_requested(name: str, channel: str | None, approvers: tuple[str, ...], ttl_s: int) -> str:
    where = f" in <#{channel}>" if channel else ""
    return (f"Asked for approval of `{name}`{where}: {_people(approvers)} may approve it within {_dur(ttl_s)}. "
            "You will get a DM with the answer.")


def approval_card_text(requester: str, name: str, what: str, reasons: tuple[str, ...], eta: str | None,
                       approvers: tuple[str, ...], expires_at: float) -> str:
    eta_line = f"\n*Would start:* {eta}" if eta else ""
    return (f":raised_hand: <@{requester}> asks to launch `{name}`: {what}\n*Needs approval:* {'; '.join(reasons)}"
            f"{eta_line}\n*Approvers:* {_people(approvers)} · expires {_when(expires_at)}")


def approval_approved_card(requester: str, name: str, approver: str) -> str:
    return f":white_check_mark: `{name}` (asked by <@{requester}>) was approved by <@{approver}> and submitted."


def approval_denied_card(requester: str, name: str, approver: str, reason: str) -> str:
    return f":no_entry: `{name}` (asked by <@{requester}>) was denied by <@{approver}>: {reason}"


def approval_expired_card(requester: str, name: str, ttl_s: int) -> str:
    return (f":hourglass: The request to launch `{name}` (asked by <@{requester}>) expired unanswered "
            f"after {_dur(ttl_s)}.")


def approval_approved_dm(name: str, approver: str) -> str:
    return f":white_check_mark: <@{approver}> approved `{name}`; it is submitted."


def approval_card_note(approver: str) -> str:
    return f"Approved by <@{approver}>."


def approval_denied_dm(name: str, approver: str, reason: str) -> str:
    return f":no_entry: <@{approver}> denied `{name}`: {reason}. Nothing was launched."


def approval_expired_dm(name: str, ttl_s: int) -> str:
    return (f":hourglass: Nobody approved `{name}` within {_dur(ttl_s)}, so it was not launched. "
            "Ask again with the same `/gpu launch` command.")


def approval_not_approver(approvers: tuple[str, ...]) -> str:
    return f"Only the approvers of this request may answer it: {_people(approvers)}."


def approval_not_yourself() -> str:
    return "You asked for this launch, so you cannot approve it yourself: another approver has to."


def approval_gone() -> str:
    return "This approval request is no longer open (it was answered, or it expired)."


def approval_answered(name: str, approver: str, approved: bool) -> str:
    return f"`{name}` was already {'approved' if approved else 'denied'} by <@{approver}>."


APPROVAL_DENY_TITLE = "Deny the launch"
APPROVAL_DENY_LABEL = "Why (the requester sees this)"
APPROVAL_DENY_SUBMIT = "Deny"
APPROVAL_NO_REASON = "no reason given"


# --- config reload -------------------------------------------------------------------------------

def reload_ok(path: str, teams: int) -> str:
    return f"policy reloaded from {path} ({teams} teams)"


def reload_rejected(path: str, problems: list[str]) -> str:
    return f"policy reload from {path} rejected; the old policy stays in force: " + "; ".join(problems)


def reload_file_changed(path: str) -> str:
    return f"{path} changed: reloading the policy"


def reload_needs_restart(keys: list[str]) -> str:
    return f"policy reload: {', '.join(keys)} changed, which takes effect only after a restart"


def groups_unreachable(err: str, age_s: int | None) -> str:
    known = f"the last known membership (from {age_s}s ago) stays in use" if age_s is not None else \
        "no membership is known yet, so group members are not in any team until Slack answers"
    return f"Slack user groups could not be read ({err}); {known}"


def approval_what(gpus: int, gpu_type: str, nodes: int, time_limit_s: int, image: str, priority: str,
                  namespace: str) -> str:
    node_part = f" on {nodes} nodes" if nodes > 1 else ""
    return (f"{gpus} × {gpu_type}{node_part} for {_dur(time_limit_s)}, `{image}`, {priority} priority, "
            f"in `{namespace}`")


def approval_eta(free: int, gpus: int, gpu_type: str) -> str:
    if free >= gpus:
        return f"right away ({free} {gpu_type} free now)"
    return f"when {gpus - free} more {gpu_type} free up ({free} free now; the queue decides the order)"


def audit_export_cannot_run(problems: list[str]) -> str:
    lines = "\n".join(f"  - {p}" if not p.startswith("  ") else p for p in problems)
    return f"chatops audit export: cannot read the trail:\n{lines}\n(`chatops run --help` lists the environment)"


def reload_rejected_dm(path: str, problems: list[str]) -> str:
    listed = "\n".join(f"• {p}" for p in problems[:10])
    return (f":warning: The policy file `{path}` was not reloaded; the old policy stays in force. Fix:\n{listed}\n"
            f"Check it with `chatops check-config {path}`, then send the bot SIGHUP again.")


# --- approvals of `/gpu extend` --------------------------------------------------------------------

def approval_reason_extend(limit_s: int) -> str:
    return f"an extension of more than {_dur(limit_s)}"


def approval_reason_beyond_max(max_s: int) -> str:
    return f"past the {_dur(max_s)} time limit cap"


def extend_approval_card_text(requester: str, name: str, by_s: int, new_s: int, reasons: tuple[str, ...],
                              approvers: tuple[str, ...], expires_at: float) -> str:
    return (f":raised_hand: <@{requester}> asks to extend `{name}` by {_dur(by_s)} (to {_dur(new_s)} in all)\n"
            f"*Needs approval:* {'; '.join(reasons)}\n*Approvers:* {_people(approvers)} · expires {_when(expires_at)}")


def extend_approval_requested(name: str, by_s: int, channel: str | None, approvers: tuple[str, ...],
                              ttl_s: int) -> str:
    where = f" in <#{channel}>" if channel else ""
    return (f"Extending `{name}` by {_dur(by_s)} needs approval: asked{where}; {_people(approvers)} may approve "
            f"it within {_dur(ttl_s)}. You will get a DM with the answer.")


def extend_approved_card(requester: str, name: str, by_s: int, approver: str) -> str:
    return (f":white_check_mark: Extending `{name}` by {_dur(by_s)} (asked by <@{requester}>) was approved by "
            f"<@{approver}> and applied.")


def extend_approved_dm(name: str, by_s: int, approver: str) -> str:
    return f":white_check_mark: <@{approver}> approved extending `{name}` by {_dur(by_s)}; it is applied."


def extend_denied_card(requester: str, name: str, approver: str, reason: str) -> str:
    return f":no_entry: Extending `{name}` (asked by <@{requester}>) was denied by <@{approver}>: {reason}"


def extend_denied_dm(name: str, approver: str, reason: str) -> str:
    return f":no_entry: <@{approver}> denied extending `{name}`: {reason}. Its time limit is unchanged."


def extend_expired_card(requester: str, name: str, ttl_s: int) -> str:
    return (f":hourglass: The request to extend `{name}` (asked by <@{requester}>) expired unanswered "
            f"after {_dur(ttl_s)}.")


def extend_expired_dm(name: str, ttl_s: int) -> str:
    return (f":hourglass: Nobody approved extending `{name}` within {_dur(ttl_s)}, so its time limit is unchanged. "
            "Ask again with the same `/gpu extend` command.")
