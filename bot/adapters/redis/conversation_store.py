"""The last action of each conversation (a thread, a DM, a user's `/gpu` in a channel), in Redis.

A follow-up ("make it 16 GPUs") needs the action it refers to. The context is the action's
contract dict, kept with a time to live: an old thread should not silently change a new request.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import redis

from bot.adapters.redis.errors import mapped

CONTEXT_TTL_S = 2 * 60 * 60


class ConversationStore:
    def __init__(self, client: redis.Redis, prefix: str = "chatops:", ttl_s: int = CONTEXT_TTL_S) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl_s = ttl_s

    def _key(self, conversation: str) -> str:
        # Hashed: Slack IDs and timestamps are safe, but a key must never depend on what a user typed.
        digest = hashlib.sha256(conversation.encode()).hexdigest()[:32]
        return f"{self.prefix}conversation:{digest}"

    def get(self, conversation: str) -> dict[str, Any] | None:
        with mapped("read the conversation"):
            raw = self.client.get(self._key(conversation))
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None  # damaged: behave as if there were no context
        return data if isinstance(data, dict) else None

    def put(self, conversation: str, action: dict[str, Any]) -> None:
        with mapped("store the conversation"):
            self.client.set(self._key(conversation), json.dumps(action), ex=self.ttl_s)

    def clear(self, conversation: str) -> None:
        with mapped("clear the conversation"):
            self.client.delete(self._key(conversation))
