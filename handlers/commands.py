"""`/gpu ...`: ack at once, then answer ephemerally through the response_url."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.domain.messages import bad_payload
from bot.services.commands import CommandService, Request
from handlers.errors import answered
from handlers.payloads import SlashCommand, parse_or_none


def register(app: App, commands: CommandService) -> None:
    @app.command("/gpu")
    @answered
    def gpu(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        ack()
        cmd: SlashCommand | None = parse_or_none(SlashCommand, command)
        if cmd is None:
            respond(text=bad_payload(), response_type="ephemeral")
            return
        # "/gpu" marks the text as typed after the slash command: grammar first, sentences otherwise
        text = f"/gpu {cmd.text}"
        reply = commands.handle(Request(cmd.user_id, cmd.channel_id, text, cmd.trigger_id or cmd.text))
        respond(text=reply.text, blocks=reply.blocks_json(), response_type="ephemeral")
