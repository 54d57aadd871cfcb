"""The Redis connection: a real server when ``REDIS_URL`` is set, else an embedded store.

The embedded store (fakeredis, with Lua) lets the demo run with nothing installed; it lives
in this process and is lost with it, so production always sets ``REDIS_URL``.
"""

from __future__ import annotations

import redis

from bot.adapters.redis.queue_store import QueueStore


def connect(url: str | None) -> redis.Redis:
    """One client for the queue store and the preview store (no silent retries: see QueueStore)."""
    store = QueueStore.from_url(url) if url else QueueStore.embedded()
    return store.client
