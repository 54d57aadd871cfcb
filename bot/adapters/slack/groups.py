"""Slack user groups: ``usergroups.list`` and ``usergroups.users.list`` (scope ``usergroups:read``).

Read directly, not through the paced outbound lanes: a refresh is a few reads every ten minutes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.errors import PermanentBackendError, TransientBackendError
from bot.domain.policy.groups import GroupSnapshot, UserGroup


class SlackGroups:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def fetch(self, named: Iterable[str]) -> GroupSnapshot:
        """The groups among ``named`` (handles ``@x`` or IDs ``S…``) with their users."""
        wanted = set(named)
        try:
            listed = self.client.usergroups_list(include_disabled=False, include_users=False)
            groups = []
            for g in listed.get("usergroups") or []:
                gid, handle = str(g.get("id", "")), str(g.get("handle", ""))
                if gid not in wanted and f"@{handle}".lower() not in {w.lower() for w in wanted}:
                    continue
                users = self.client.usergroups_users_list(usergroup=gid, include_disabled=False)
                groups.append(UserGroup(gid, handle, tuple(str(u) for u in users.get("users") or [])))
        except SlackApiError as err:
            status = err.response.status_code
            error = str(err.response.get("error", "unknown"))
            if status == 429 or status >= 500:
                raise TransientBackendError("slack", f"usergroups: HTTP {status} ({error})") from None
            raise PermanentBackendError("slack", f"usergroups: {error}") from None
        except OSError as err:  # unreachable, refused, timed out
            raise TransientBackendError("slack", f"usergroups: {type(err).__name__}") from None
        return GroupSnapshot(tuple(groups), time.time())
