"""Who a policy names and where: Slack user IDs or user groups, each team its own namespace.

Checked when a policy is read, so a typo (a name instead of an ID, two teams in one namespace) is a
`chatops check-config` error rather than a member who silently matches nobody."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from bot.domain.policy.org import is_group

# U… (users) and W… (Enterprise Grid users), as Slack writes them: upper-case letters and digits
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


class _Team(Protocol):
    @property
    def namespace(self) -> str: ...

    @property
    def members(self) -> list[str]: ...


def _bad_refs(key: str, refs: Sequence[str]) -> list[str]:
    out = []
    for ref in refs:
        if not (SLACK_USER_ID.fullmatch(ref) or is_group(ref)):
            out.append(f"{key}: '{ref}' is not a Slack user ID (U…/W…, e.g. U0123ABCD: a person's profile → "
                       "⋮ → Copy member ID) nor a user group (\"@handle\" or S…)")
    seen: set[str] = set()
    for ref in refs:
        if ref in seen:
            out.append(f"{key}: '{ref}' is listed twice; list it once")
        seen.add(ref)
    return out


def people_problems(admins: Sequence[str], high_priority: Sequence[str], teams: Mapping[str, _Team],
                    approvers: Iterable[tuple[str, Sequence[str]]] = ()) -> list[str]:
    problems = _bad_refs("admins", admins) + _bad_refs("limits.high_priority", high_priority)
    for key, refs in approvers:
        problems += _bad_refs(key, refs)
    namespaces: dict[str, str] = {}
    for name, team in teams.items():
        problems += _bad_refs(f"teams.{name}.members", team.members)
        if team.namespace in namespaces:
            problems.append(f"teams.{name}.namespace: '{team.namespace}' is also team '{namespaces[team.namespace]}'"
                            "'s; each team needs a namespace of its own (its quota and jobs are counted there)")
        namespaces.setdefault(team.namespace, name)
    return problems
