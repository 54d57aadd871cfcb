"""Signatures of the signed Slack requests already taken in: replay protection (SET NX with a TTL).

Key ``{prefix}slack:seen:{signature}``; a replica that sees the same signature again gets False.
"""

from __future__ import annotations

import redis

from bot.adapters.redis.errors import mapped


class SeenSignatures:
    def __init__(self, client: redis.Redis, prefix: str = "chatops:") -> None:
        self._r = client
        self._p = prefix + "slack:seen:"

    def first_time(self, signature: str, ttl_s: int) -> bool:
        """True for the first caller with ``signature`` within ``ttl_s``; False for every later one."""
        with mapped("replay check"):
            return bool(self._r.set(self._p + signature[:100], "1", nx=True, ex=max(1, ttl_s)))
