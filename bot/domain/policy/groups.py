"""Slack user groups in the policy: expanding ``"@handle"`` / ``S…`` entries into the users they hold.

The policy file names groups; who is in them lives in Slack and changes. ``resolve`` takes the policy as
written and a snapshot of the groups and gives the policy the rest of the bot reads: every list of people
holds user IDs, and a user whom groups put in two teams is in neither (``conflicting_teams`` names both,
so their refusal can say which two).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.domain.policy.config import Policy
from bot.domain.policy.org import is_group


@dataclass(frozen=True)
class UserGroup:
    id: str
    handle: str
    users: tuple[str, ...]


@dataclass(frozen=True)
class GroupSnapshot:
    """The workspace's user groups at ``fetched_at`` (as ``usergroups.list`` + ``usergroups.users.list`` said)."""

    groups: tuple[UserGroup, ...] = ()
    fetched_at: float = 0.0

    def find(self, ref: str) -> UserGroup | None:
        for g in self.groups:
            if ref == g.id or ref.lstrip("@").lower() == g.handle.lower():
                return g
        return None

    def to_dict(self) -> dict[str, object]:
        return {"fetched_at": self.fetched_at,
                "groups": [{"id": g.id, "handle": g.handle, "users": list(g.users)} for g in self.groups]}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> GroupSnapshot:
        raw = data.get("groups")
        groups = [UserGroup(str(g["id"]), str(g["handle"]), tuple(str(u) for u in g["users"]))
                  for g in (raw if isinstance(raw, list) else [])]
        at = data.get("fetched_at")
        return cls(tuple(groups), float(at) if isinstance(at, (int, float)) else 0.0)


@dataclass(frozen=True)
class Resolved:
    policy: Policy
    unknown: tuple[str, ...] = ()  # groups the policy names that Slack does not have
    conflicts: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _expand(refs: Iterable[str], snap: GroupSnapshot, unknown: set[str]) -> list[str]:
    out: list[str] = []
    for ref in refs:
        if not is_group(ref):
            out.append(ref)
            continue
        group = snap.find(ref)
        if group is None:
            unknown.add(ref)
            continue
        out.extend(group.users)
    return list(dict.fromkeys(out))  # order kept, each user once


def resolve(policy: Policy, snap: GroupSnapshot) -> Resolved:
    """The policy with every group replaced by its users; users in two teams are taken out of both."""
    if not policy.groups_named():
        return Resolved(policy)
    unknown: set[str] = set()
    members = {name: _expand(team.members, snap, unknown) for name, team in policy.teams.items()}
    teams_of: dict[str, list[str]] = {}
    for name, users in members.items():
        for user in users:
            teams_of.setdefault(user, []).append(name)
    conflicts = {u: tuple(ts) for u, ts in teams_of.items() if len(ts) > 1}
    teams = {name: team.model_copy(update={"members": [u for u in members[name] if u not in conflicts]})
             for name, team in policy.teams.items()}
    approvals = [rule.model_copy(update={"approvers": _expand(rule.approvers, snap, unknown)})
                 for rule in policy.approvals]
    limits = policy.limits.model_copy(update={"high_priority": _expand(policy.limits.high_priority, snap, unknown)})
    out = policy.model_copy(update={"teams": teams, "approvals": approvals, "limits": limits,
                                    "admins": _expand(policy.admins, snap, unknown)})
    out._conflicts = conflicts
    return Resolved(out, tuple(sorted(unknown)), conflicts)
