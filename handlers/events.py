"""Mentions in channels and DMs to the bot: the text goes through the same path as `/gpu`."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot.services.commands import CommandService, Request
from handlers.errors import answered
from handlers.payloads import MessageEvent, parse_or_none


def register(app: App, commands: CommandService) -> None:
    cards = commands.rt.cards

    def answer(event: dict[str, Any], *, dm: bool) -> None:
        ev: MessageEvent | None = parse_or_none(MessageEvent, event)
        if ev is None or ev.bot_id or ev.subtype:
            return  # the bot's own messages, edits and joins are not requests
        # A thread is one conversation; a DM outside threads is one conversation too.
        thread = ev.thread_ts or (None if dm else ev.ts)
        key = f"{ev.channel}:{thread}" if thread else ev.channel
        reply = commands.handle(Request(ev.user, ev.channel, ev.text, ev.ts, thread_key=key))
        if dm:
            cards.post(ev.channel, reply)
        else:  # previews and refusals are for the asker only
            cards.ephemeral(ev.channel, ev.user, reply)

    @app.event("app_mention")
    @answered
    def mention(event: dict[str, Any]) -> None:
        answer(event, dm=False)

    @app.event("message")
    @answered
    def direct_message(event: dict[str, Any]) -> None:
        if event.get("channel_type") == "im":
            answer(event, dm=True)
