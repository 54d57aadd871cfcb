"""The project's exception tree.

Everything the bot raises on purpose is a ``ChatopsError``. Two families matter to callers:

* ``Refusal`` — the request was understood and judged, and the answer is no. It carries
  what was wrong (``why``) and, where one exists, what would work (``fix``: an action, or a
  corrected command line), rendered as a `/gpu` command only where it is shown.
  Shown to the user ephemerally; never retried.
* ``BackendError`` — an outside system failed. ``retryable`` says whether trying again may help.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from bot.domain.actions import Action

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
    """An outside system (Kubernetes, Redis, Slack, Prometheus...) failed."""

    retryable: bool = False


class TransientBackendError(BackendError):
    """A failure that may go away: a timeout, a 5xx, a lost connection, a 429."""

    retryable = True


class PermanentBackendError(BackendError):
    """A failure that trying again will not cure: a 4xx the bot did not expect, bad credentials."""

    retryable = False


class AlreadyExistsNotOurs(PermanentBackendError):
    """A create hit a name that exists but was not made for this submission."""


class DryRunRejected(PermanentBackendError):
    """The API server refused the object in a dry run (admission, validation, quota)."""


class NamespaceMissing(DryRunRejected):
    """The dry run found no such namespace on the cluster (404 ``namespaces "X" not found``)."""

    def __init__(self, namespace: str) -> None:
        super().__init__(f'namespaces "{namespace}" not found')
        self.namespace = namespace


class LeaseLost(TransientBackendError):
    """A fenced write was refused: the caller no longer holds the lease it named."""
