"""The project's exception tree.

Everything the bot raises on purpose is a ``ChatopsError``. Two families matter to callers:

* ``Refusal`` — the request was understood and judged, and the answer is no. It carries
  what was wrong (``why``) and, where one exists, what would work (``fix``: an action, or a
  corrected command line), rendered as a `/gpu` command only where it is shown.
  Shown to the user ephemerally; never retried.
* ``BackendError`` — an outside system failed. ``system`` says which one; ``retryable`` whether
  trying again may help; ``ambiguous`` that a write may have been applied before the failure
  (the caller reads back before it says anything); ``rejected`` that the system judged the
  object itself and refused it (an answer about the request, not an outage).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, TypeAlias

if TYPE_CHECKING:
    from bot.domain.actions import Action

System = Literal["kubernetes", "redis", "slack", "prometheus", "alertmanager", "llm"]
SYSTEMS: tuple[System, ...] = ("kubernetes", "redis", "slack", "prometheus", "alertmanager", "llm")

# What to type instead: an action (policy refusals: rendered as a `/gpu` command where it is
# shown) or a command line (the grammar's corrections, edited where the user typed them).
Fix: TypeAlias = "Action | str | None"


class ChatopsError(Exception):
    """Base of every error the bot raises on purpose."""


# --- the user's request was judged and refused --------------------------------------------------


class Refusal(ChatopsError):
    """A request that will not be carried out, with why and what to type instead."""

    def __init__(self, why: str, fix: Fix = None) -> None:
        super().__init__(why)
        self.why = why
        self.fix = fix


class ParseError(Refusal):
    """The text does not follow the ``/gpu`` grammar (unknown flag, bad number, bad duration...)."""


class ValidationError(Refusal):
    """The action is well formed but a field has an invalid value (name, image reference...)."""


class PolicyError(Refusal):
    """The policy file forbids the action (image not allowed, over a limit, not a member...)."""


class ClusterFactError(Refusal):
    """The cluster cannot run the action (unknown GPU type, GPUs per node do not fit...)."""


class NotFoundError(Refusal):
    """The job (or other object) the user named does not exist where they may see it."""


class ForbiddenError(Refusal):
    """The user may not act on that object (someone else's job, an expired confirmation...)."""


# --- configuration ------------------------------------------------------------------------------


class ConfigError(ChatopsError):
    """The policy file or environment is invalid; ``problems`` name each key and its fix."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# --- outside systems ----------------------------------------------------------------------------


class BackendError(ChatopsError):
    """An outside system failed; ``system`` names it (never found by reading the message)."""

    retryable: bool = False

    def __init__(self, system: System, message: str, *, status: int | None = None,
                 retry_after: float | None = None, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.system: System = system
        self.status = status  # the HTTP status where the system speaks HTTP
        self.retry_after = retry_after  # seconds the system asked us to wait (a 429's Retry-After)
        self.ambiguous = ambiguous  # a write whose answer was lost: it may have been applied


class TransientBackendError(BackendError):
    """A failure that may go away: a timeout, a 5xx, a lost connection, a 429."""

    retryable = True


class PermanentBackendError(BackendError):
    """A failure that trying again will not cure: a 4xx the bot did not expect, bad credentials."""

    retryable = False


class Rejected(PermanentBackendError):
    """The system judged the object and refused it (Kubernetes 400, 403, 409 not ours, 422).

    ``reason`` is the system's own message, to show the person whose object it is."""

    def __init__(self, system: System, reason: str, *, status: int | None = None) -> None:
        super().__init__(system, reason, status=status)
        self.reason = reason


class AlreadyExistsNotOurs(Rejected):
    """A create hit a name that exists but was not made for this submission (HTTP 409)."""


class DryRunRejected(Rejected):
    """The API server refused the object in a dry run (admission, validation, quota)."""


class NamespaceMissing(DryRunRejected):
    """The dry run found no such namespace on the cluster (404 ``namespaces "X" not found``)."""

    def __init__(self, namespace: str) -> None:
        super().__init__("kubernetes", f'namespaces "{namespace}" not found', status=404)
        self.namespace = namespace


class LeaseLost(TransientBackendError):
    """A fenced write was refused: the caller no longer holds the lease it named."""
