"""What the Slack adapter needs of a reply: fallback text and Block Kit JSON (render builds them)."""

from __future__ import annotations

from typing import Any, Protocol


class Message(Protocol):
    @property
    def text(self) -> str: ...

    def blocks_json(self) -> list[dict[str, Any]]: ...
