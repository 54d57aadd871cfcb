"""Buttons: [Launch] [Cancel] on a preview, [Stop] [Cancel] on a stop confirmation, [Logs] [Stop] on a card."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.domain import messages as msg
from bot.domain.actions import Logs
from bot.render import replies as rendering
from bot.services.commands import CommandService, guarded
from handlers.payloads import BlockAction, parse_or_none


def register(app: App, commands: CommandService) -> None:
    launches, jobs = commands.launches, commands.jobs

    def clicked(body: dict[str, Any], respond: Respond) -> BlockAction | None:
        click: BlockAction | None = parse_or_none(BlockAction, body)
        if click is None:
            respond(text=msg.bad_payload(), response_type="ephemeral", replace_original=False)
        return click

    @app.action(rendering.LAUNCH_CONFIRM)
    def launch(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        if (click := clicked(body, respond)) is None:
            return

        def confirm() -> rendering.Reply:
            done = launches.confirm(click.value, click.user.id)
            return rendering.text_reply(msg.launch_submitted(done.record.name, done.record.channel))

        reply = guarded(confirm)
        respond(text=reply.text, blocks=reply.blocks_json(), replace_original=True)

    @app.action(rendering.LAUNCH_CANCEL)
    def cancel_launch(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        if (click := clicked(body, respond)) is None:
            return

        def cancel() -> rendering.Reply:
            launches.cancel(click.value, click.user.id)
            return rendering.text_reply(msg.preview_cancelled())

        reply = guarded(cancel)
        respond(text=reply.text, blocks=reply.blocks_json(), replace_original=True)

    @app.action(rendering.STOP_CONFIRM)
    def stop(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        if (click := clicked(body, respond)) is not None:
            reply = guarded(lambda: jobs.confirm_stop(click.value, click.user.id))
            respond(text=reply.text, blocks=reply.blocks_json(), replace_original=True)

    @app.action(rendering.STOP_CANCEL)
    def cancel_stop(ack: Ack, respond: Respond) -> None:
        ack()
        respond(text=msg.stop_cancelled(), replace_original=True)

    @app.action(rendering.JOB_STOP)
    def stop_from_card(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        if (click := clicked(body, respond)) is not None:
            reply = guarded(lambda: jobs.stop_key(click.value, click.user.id))
            respond(text=reply.text, blocks=reply.blocks_json(), response_type="ephemeral", replace_original=False)

    @app.action(rendering.JOB_LOGS)
    def logs_from_card(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        if (click := clicked(body, respond)) is not None:
            name = click.value.partition("/")[2]
            reply = guarded(lambda: jobs.logs(Logs(job=name), click.user.id))
            respond(text=reply.text, blocks=reply.blocks_json(), response_type="ephemeral", replace_original=False)
