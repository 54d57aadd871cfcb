"""The last known Slack user groups (one JSON value): what the bot uses while Slack cannot be reached."""

from __future__ import annotations

import json

import redis

from bot.adapters.redis.errors import mapped
from bot.domain.policy.groups import GroupSnapshot


class GroupStore:
    def __init__(self, client: redis.Redis, prefix: str = "chatops:") -> None:
        self._r = client
        self._key = f"{prefix}usergroups"

    def save(self, snap: GroupSnapshot) -> None:
        with mapped("user groups save"):
            self._r.set(self._key, json.dumps(snap.to_dict()))

    def load(self) -> GroupSnapshot | None:
        with mapped("user groups load"):
            raw = self._r.get(self._key)
        if raw is None:
            return None
        data = json.loads(raw)
        return GroupSnapshot.from_dict(data) if isinstance(data, dict) else None
