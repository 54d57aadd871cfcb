"""One error map by HTTP status, and one retry policy, for every call the bot makes to the API server.

The map: 429 and 5xx, and a call that got no answer, are the cluster being busy (transient); a
400, 403, 409 or 422 judges the object (``Rejected``: shown to its owner, never retried); 404 is
``ObjectNotFound`` (callers that expect it say what it means); any other 4xx is permanent.

The policy: a call marked ``retry`` (reads, the server-side dry run, deletes: repeating them
changes nothing) is tried again with exponential backoff and full jitter while the next attempt can
start within ``budget_s``; a 429's ``Retry-After`` is honoured (never retried sooner). Creates are
not retried here: the dispatcher owns their retries, fenced by its lease.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException

from bot import metrics
from bot.domain.errors import BackendError, PermanentBackendError, Rejected, TransientBackendError

REFUSING_STATUSES = frozenset({400, 403, 409, 422})  # the API server judged the object
CALL_ERRORS = (ApiException, urllib3.exceptions.HTTPError, OSError)


class ObjectNotFound(PermanentBackendError):
    """HTTP 404: the object (or its namespace, then named in ``namespace``) does not exist."""

    namespace: str | None = None


def _missing_namespace(err: ApiException) -> str | None:
    """The namespace a 404 names when the namespace itself is missing (NamespaceLifecycle admission)."""
    try:
        details = json.loads(err.body or "{}").get("details") or {}
    except (ValueError, AttributeError):
        return None
    if details.get("kind") == "namespaces" and not details.get("group") and details.get("name"):
        return str(details["name"])
    return None


def _status_message(err: ApiException) -> str:
    try:
        return str(json.loads(err.body or "{}").get("message") or err.reason)
    except (ValueError, AttributeError):
        return str(err.reason)


def _retry_after(err: ApiException) -> float | None:
    value = (err.headers or {}).get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # the HTTP-date form: the API server sends seconds; fall back to our backoff


def error_for(what: str, err: Exception, *, writes: bool = False) -> BackendError:
    """The project's error for a failed call ``what``; ``writes``: a write, which a lost answer leaves
    ``ambiguous`` (a read or a dry run changes nothing, whatever its answer)."""
    if isinstance(err, ApiException) and err.status:
        status, message = int(err.status), _status_message(err)
        metrics.KUBE_ERRORS.labels(what, str(status)).inc()
        text = f"Kubernetes API {what}: HTTP {status} {message}"
        if status == 429:  # refused before it was applied (API priority and fairness)
            return TransientBackendError("kubernetes", text, status=status, retry_after=_retry_after(err))
        if status >= 500:  # the server may have applied it before failing
            return TransientBackendError("kubernetes", text, status=status, ambiguous=writes)
        if status == 404:
            gone = ObjectNotFound("kubernetes", text, status=status)
            gone.namespace = _missing_namespace(err)
            return gone
        if status in REFUSING_STATUSES:
            return Rejected("kubernetes", message, status=status)
        return PermanentBackendError("kubernetes", text, status=status)
    metrics.KUBE_ERRORS.labels(what, type(err).__name__).inc()
    # No answer (a reset, a timeout): whether the server applied the request is unknown.
    return TransientBackendError("kubernetes", f"Kubernetes API {what}: {type(err).__name__}", ambiguous=writes)


@dataclass
class RetryPolicy:
    budget_s: float = 3.0  # an attempt starts only while this much time since the first has not passed
    first_backoff_s: float = 0.1
    max_backoff_s: float = 1.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, err: BackendError) -> float:
        """Full jitter on an exponential cap; never sooner than the server's Retry-After."""
        backoff = self.rng.uniform(0, min(self.max_backoff_s, self.first_backoff_s * 2**attempt))
        return max(backoff, err.retry_after or 0.0)

    def run(self, what: str, call: Callable[[], Any], *, retry: bool, writes: bool = False) -> Any:
        deadline = self.clock() + self.budget_s
        attempt = 0
        ambiguous = False  # an earlier attempt may have been applied: the caller must know
        while True:
            try:
                return call()
            except CALL_ERRORS as raw:
                err = error_for(what, raw, writes=writes)
                ambiguous = ambiguous or err.ambiguous
                if not (retry and err.retryable):
                    raise _marked(err, ambiguous) from raw
                wait = self.delay(attempt, err)
                if self.clock() + wait > deadline:
                    raise _marked(err, ambiguous) from raw
                metrics.KUBE_RETRIES.labels(what).inc()
                self.sleep(wait)
                attempt += 1


def _marked(err: BackendError, ambiguous: bool) -> BackendError:
    err.ambiguous = ambiguous
    return err
