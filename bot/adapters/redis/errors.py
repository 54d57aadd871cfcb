"""The one map from redis-py's errors to the project's: every store reads and writes inside ``mapped``.

Lost connections, timeouts, a read-only replica (failover in progress) and TRYAGAIN are transient;
bad credentials and every other Redis error (a script bug, a wrong type) are permanent. Messages
never carry the password: a URL or an AUTH error may quote it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import redis
from redis.exceptions import AuthenticationError, ReadOnlyError, RedisError, TryAgainError

from bot.domain.errors import PermanentBackendError, TransientBackendError


def _message(op: str, e: Exception, secrets: Iterable[str]) -> str:
    text = f"Redis {op} failed: {type(e).__name__}: {e}"
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


@contextmanager
def mapped(op: str, secrets: Iterable[str] = ()) -> Iterator[None]:
    try:
        yield
    except AuthenticationError as e:  # a ConnectionError subclass, but retrying will not help
        raise PermanentBackendError("redis", _message(op, e, secrets)) from e
    except (redis.ConnectionError, redis.TimeoutError, ReadOnlyError, TryAgainError, OSError) as e:
        raise TransientBackendError("redis", _message(op, e, secrets)) from e
    except RedisError as e:
        raise PermanentBackendError("redis", _message(op, e, secrets)) from e
