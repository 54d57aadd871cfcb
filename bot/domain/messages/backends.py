"""What a person is told when an outside system failed: which one, whether anything changed, what to do."""

from __future__ import annotations

from bot.domain.errors import System

SYSTEM_NAMES: dict[System, str] = {
    "kubernetes": "The Kubernetes API",
    "redis": "The Redis backend",
    "slack": "The Slack backend",
    "prometheus": "The Prometheus backend",
    "alertmanager": "The Alertmanager backend",
    "llm": "The language model",
}


def backend_unavailable(system: System) -> str:
    return f"{SYSTEM_NAMES[system]} is not answering right now; nothing was changed. Try again in a minute."


def cluster_busy() -> str:
    """A 429 or a 5xx from the API server: an answer about load, not about the request."""
    return "The cluster is busy right now; nothing was changed. Try the same command again in a few seconds."


def backend_refused(system: System, detail: str) -> str:
    """A permanent failure that is not about the user's object (bad credentials, missing permission)."""
    return (f"{SYSTEM_NAMES[system]} refused the bot's request ({detail}); nothing was changed. "
            "This needs an administrator: trying again will not help.")


def outcome_unknown(system: System, check: str) -> str:
    """A write whose answer was lost, and reading back did not tell either."""
    return (f"{SYSTEM_NAMES[system]} did not answer, so the bot cannot tell yet whether it was done. "
            f"Check with `{check}` in a minute.")

