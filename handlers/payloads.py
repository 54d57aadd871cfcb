"""Slack payloads at the edge, validated with pydantic before anything acts on them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SlashCommand(_Loose):
    user_id: str = Field(min_length=1)
    channel_id: str = Field(min_length=1)
    text: str = ""
    trigger_id: str = ""


class _Id(_Loose):
    id: str = Field(min_length=1)


class _Button(_Loose):
    action_id: str
    value: str = Field(default="", max_length=2000)


class BlockAction(_Loose):
    user: _Id
    channel: _Id | None = None
    actions: list[_Button] = Field(min_length=1)

    @property
    def value(self) -> str:
        return self.actions[0].value


class MessageEvent(_Loose):
    user: str = Field(min_length=1)
    channel: str = Field(min_length=1)
    text: str = ""
    ts: str = ""
    thread_ts: str | None = None
    bot_id: str | None = None
    subtype: str | None = None


class BadPayload(ValueError):
    """A Slack payload that does not have the shape of its kind (answered once, by handlers.errors)."""


def clicked(body: dict[str, Any]) -> BlockAction:
    """The one parse of a button click: who clicked, and the button's value."""
    click: BlockAction | None = parse_or_none(BlockAction, body)
    if click is None:
        raise BadPayload("block_actions payload without a user or an action")
    return click


def parse_or_none(model: type[_Loose], data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValueError:
        return None
