"""User groups in the fake workspace: ``usergroups.list`` and ``usergroups.users.list`` as Slack answers them.

A test (or the console) sets a group with ``set_usergroup(id, handle, users)``; the bot hears of the
change from the ``subteam_members_changed`` event Slack would send.
"""

from __future__ import annotations

from typing import Any

TEAM_ID = "T0001"
Answer = tuple[dict[str, Any], None]  # user group reads show nothing to anyone


class UserGroups:
    """Mixed into ``SlackMethods``: the groups' state, their ``_m_<method>`` answers and the control."""

    usergroups: dict[str, dict[str, Any]]  # group id → {"handle", "name", "users"}

    def set_usergroup(self, group_id: str, handle: str, users: list[str]) -> None:
        self.usergroups = {**self.usergroups, group_id: {"handle": handle, "name": handle.title(),
                                                         "users": list(users)}}

    def _m_usergroups_list(self, args: dict[str, Any]) -> Answer:
        with_users = str(args.get("include_users", "")).lower() in ("1", "true")
        groups = []
        for gid, g in sorted(self.usergroups.items()):
            group = {"id": gid, "team_id": TEAM_ID, "is_usergroup": True, "name": g["name"], "handle": g["handle"],
                     "description": "", "is_external": False, "date_delete": 0, "auto_type": None,
                     "user_count": len(g["users"])}
            if with_users:
                group["users"] = list(g["users"])
            groups.append(group)
        return {"ok": True, "usergroups": groups}, None

    def _m_usergroups_users_list(self, args: dict[str, Any]) -> Answer:
        group = self.usergroups.get(str(args.get("usergroup", "")))
        if group is None:
            return {"ok": False, "error": "no_such_subteam"}, None
        return {"ok": True, "users": list(group["users"])}, None
