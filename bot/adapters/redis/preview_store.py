"""Pending confirmations (launch and stop previews) in Redis, with a time to live."""

from __future__ import annotations

import json
from typing import Any

import redis

from bot.adapters.redis.errors import mapped

PREVIEW_TTL_S = 15 * 60


class PreviewStore:
    def __init__(self, client: redis.Redis, prefix: str = "chatops:") -> None:
        self.client = client
        self.prefix = prefix

    def _key(self, token: str) -> str:
        return f"{self.prefix}preview:{token}"

    def put(self, token: str, data: dict[str, Any], ttl_s: int = PREVIEW_TTL_S) -> None:
        with mapped("store the preview"):
            self.client.set(self._key(token), json.dumps(data), ex=ttl_s)

    def get(self, token: str) -> dict[str, Any] | None:
        with mapped("read the preview"):
            raw = self.client.get(self._key(token))
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        return data

    def take(self, token: str) -> dict[str, Any] | None:
        """Read and delete at once, so a second click finds nothing."""
        with mapped("take the preview"):
            raw = self.client.getdel(self._key(token))
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        return data
