"""Shared pytest fixtures. Each section belongs to one area; append new sections below."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
import redis

from tests.support.redis_server import MISSING_MESSAGE, RedisServer

# --- Redis: one real redis-server for the session -----------------------------------------------


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.fail(MISSING_MESSAGE, pytrace=False)  # fail loudly: a skipped store test proves nothing
    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session server's URL, emptied (FLUSHALL) before the test."""
    client = redis.Redis.from_url(redis_server.url)
    try:
        client.flushall()
    finally:
        client.close()
    return redis_server.url


# --- end of Redis section -----------------------------------------------------------------------
