"""The one bolt error handler: whatever a listener raises becomes a reply a person can act on.

Listeners ack first and then call one service; a refusal, an outside system's failure, a malformed
payload or a bug surfaces here, is counted and logged once, and is answered through ``respond``
(ephemeral; a listener that replaces the message it came from says so in ``context``).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext

from bot.domain import messages as msg
from bot.render import replies as rendering
from bot.services.commands import failure_reply
from handlers.payloads import BadPayload

log = logging.getLogger(__name__)

REPLACE_ORIGINAL = "chatops_replace_original"  # context key: the answer replaces the clicked message


def answer(respond: Any, reply: rendering.Reply, *, replace: bool = False) -> None:
    if replace:
        respond(text=reply.text, blocks=reply.blocks_json(), replace_original=True)
    else:
        respond(text=reply.text, blocks=reply.blocks_json(), response_type="ephemeral", replace_original=False)


def register(app: App) -> None:
    @app.error
    def on_error(error: Exception, context: BoltContext) -> None:
        if isinstance(error, BadPayload):
            log.info("malformed Slack payload: %s", error)
            reply = rendering.text_reply(msg.bad_payload())
        else:
            reply = failure_reply(error, "button")
        if context.response_url:
            answer(context.respond, reply, replace=bool(context.get(REPLACE_ORIGINAL)))
