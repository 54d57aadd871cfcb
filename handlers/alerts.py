"""Buttons on alert messages: [Silence 1h] [Silence 4h] [Expire silence] [Stop job] (and on idle nudges)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.domain import messages as msg
from bot.render.alerts import ALERT_EXPIRE, ALERT_SILENCE_1H, ALERT_SILENCE_4H, ALERT_STOP_JOB, SILENCE_HOURS
from bot.render.replies import Reply
from bot.services.alert_actions import AlertActions
from bot.services.commands import guarded
from handlers.payloads import BlockAction, parse_or_none


def register(app: App, actions: AlertActions) -> None:
    def clicked(body: dict[str, Any], respond: Respond) -> BlockAction | None:
        click: BlockAction | None = parse_or_none(BlockAction, body)
        if click is None:
            respond(text=msg.bad_payload(), response_type="ephemeral", replace_original=False)
        return click

    def answer(respond: Respond, reply: Reply) -> None:
        # Ephemeral: the shared alert message itself is updated by the outbox for everyone.
        respond(text=reply.text, blocks=reply.blocks_json(), response_type="ephemeral", replace_original=False)

    def silence(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        if (click := clicked(body, respond)) is not None:
            hours = SILENCE_HOURS.get(click.actions[0].action_id, 1)
            answer(respond, guarded(lambda: actions.silence(click.value, click.user.id, hours)))

    app.action(ALERT_SILENCE_1H)(silence)
    app.action(ALERT_SILENCE_4H)(silence)

    @app.action(ALERT_EXPIRE)
    def expire(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        if (click := clicked(body, respond)) is not None:
            answer(respond, guarded(lambda: actions.expire(click.value, click.user.id)))

    @app.action(ALERT_STOP_JOB)
    def stop_job(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()  # Slack showed the confirmation dialog; rights are checked as for /gpu stop
        if (click := clicked(body, respond)) is not None:
            answer(respond, guarded(lambda: actions.stop_job(click.value, click.user.id)))
