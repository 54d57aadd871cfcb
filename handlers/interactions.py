"""Buttons: [Launch] [Cancel] on a preview, [Stop] [Cancel] on a stop confirmation, [Logs] [Stop] on a card.

Each listener acks, parses the click once, calls one service and answers; failures go to handlers.errors.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.domain import messages as msg
from bot.domain.actions import Extend, Logs
from bot.render import cards as cards_render
from bot.render import job_control as control_render
from bot.render import replies as rendering
from bot.services.commands import CommandService
from handlers.errors import REPLACE_ORIGINAL, answer, answered
from handlers.payloads import clicked


def register(app: App, commands: CommandService) -> None:
    launches, jobs, control = commands.launches, commands.jobs, commands.control

    @app.action(rendering.LAUNCH_CONFIRM)
    @answered
    def launch(ack: Ack, body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
        ack()
        context[REPLACE_ORIGINAL] = True
        click = clicked(body)
        answer(respond, commands.confirm_launch(click.value, click.user.id), replace=True)

    @app.action(rendering.LAUNCH_CANCEL)
    @answered
    def cancel_launch(ack: Ack, body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
        ack()
        context[REPLACE_ORIGINAL] = True
        click = clicked(body)
        launches.cancel(click.value, click.user.id)
        answer(respond, rendering.text_reply(msg.preview_cancelled()), replace=True)

    @app.action(rendering.STOP_CONFIRM)
    @answered
    def stop(ack: Ack, body: dict[str, Any], respond: Respond, context: BoltContext) -> None:
        ack()
        context[REPLACE_ORIGINAL] = True
        click = clicked(body)
        answer(respond, jobs.confirm_stop(click.value, click.user.id), replace=True)

    @app.action(rendering.STOP_CANCEL)
    @answered
    def cancel_stop(ack: Ack, respond: Respond) -> None:
        ack()
        respond(text=msg.stop_cancelled(), replace_original=True)

    @app.action(rendering.JOB_STOP)
    @answered
    def stop_from_card(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        click = clicked(body)
        answer(respond, jobs.stop_button(click.value, click.user.id))

    @app.action(rendering.JOB_LOGS)
    @answered
    def logs_from_card(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        click = clicked(body)
        answer(respond, jobs.logs(Logs(job=click.value.partition("/")[2]), click.user.id))

    @app.action(control_render.JOB_EXTEND)
    @answered
    def extend_from_notice(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        click = clicked(body)
        _ns, name, shown = control_render.parse_extend_value(click.value)
        text = control.extend(Extend(job=name, by_s=control_render.EXTEND_BY_S), click.user.id, expect_limit=shown)
        answer(respond, rendering.text_reply(text))

    @app.action(cards_render.JOB_HOLD)
    @answered
    def hold_from_card(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        click = clicked(body)
        answer(respond, rendering.text_reply(control.by_key("hold", click.value, click.user.id)))

    @app.action(cards_render.JOB_RELEASE)
    @answered
    def release_from_card(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        click = clicked(body)
        answer(respond, rendering.text_reply(control.by_key("release", click.value, click.user.id)))
