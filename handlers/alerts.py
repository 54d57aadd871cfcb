"""Buttons on alert messages: [Silence 1h] [Silence 4h] [Expire silence] [Stop job] (and on idle nudges).

Answers are ephemeral: the shared alert message itself is updated by the outbox for everyone.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.render.alerts import ALERT_EXPIRE, ALERT_SILENCE_1H, ALERT_SILENCE_4H, ALERT_STOP_JOB, SILENCE_HOURS
from bot.services.alert_actions import AlertActions
from handlers.errors import answer, answered
from handlers.payloads import clicked


def register(app: App, actions: AlertActions) -> None:
    def silence(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        click = clicked(body)
        hours = SILENCE_HOURS.get(click.actions[0].action_id, 1)
        answer(respond, actions.silence(click.value, click.user.id, hours))

    app.action(ALERT_SILENCE_1H)(silence)
    app.action(ALERT_SILENCE_4H)(silence)

    @app.action(ALERT_EXPIRE)
    @answered
    def expire(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        click = clicked(body)
        answer(respond, actions.expire(click.value, click.user.id))

    @app.action(ALERT_STOP_JOB)
    @answered
    def stop_job(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()  # Slack showed the confirmation dialog; rights are checked as for /gpu stop
        click = clicked(body)
        answer(respond, actions.stop_job(click.value, click.user.id))
