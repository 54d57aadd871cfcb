"""The one bolt error handler: whatever a listener raises becomes a reply a person can act on.

Listeners ack first and then call one service; a refusal, an outside system's failure, a malformed
payload or a bug surfaces here, is counted and logged once, and is answered through ``respond``
(ephemeral; a listener that replaces the message it came from says so in ``context``).
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
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


def handle(error: Exception, context: BoltContext) -> None:
    """The one error handler: what a listener raised, answered as a reply a person can act on."""
    if isinstance(error, BadPayload):
        log.info("malformed Slack payload: %s", error)
        reply = rendering.text_reply(msg.bad_payload())
    else:
        reply = failure_reply(error, "button")
    if context.response_url:
        answer(context.respond, reply, replace=bool(context.get(REPLACE_ORIGINAL)))


Listener = Callable[..., None]


def answered(fn: Listener) -> Listener:
    """A listener whose errors go to :func:`handle` from inside the listener.

    Why not only bolt's ``@app.error``: when a listener raises after ``ack()``, bolt (1.x, threaded runner)
    sets the request's ack response back to None once the error handler returns, so Slack's request
    waits out the 3 s ack timeout and is answered 404 "unhandled request" — the person sees an error on
    the button after the refusal. Bolt injects arguments by parameter name, so the wrapper keeps the
    listener's signature (as its ``__signature__``: bolt reads it) and adds ``context`` when the listener
    does not take it.
    """
    sig = inspect.signature(fn)
    takes_context = "context" in sig.parameters
    params = list(sig.parameters.values())
    if not takes_context:
        params.append(inspect.Parameter("context", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=BoltContext))

    @functools.wraps(fn)
    def run(**kwargs: Any) -> None:
        context: BoltContext = kwargs["context"] if takes_context else kwargs.pop("context")
        try:
            fn(**kwargs)
        except Exception as err:  # a boundary: every failure of a listener is answered and logged here
            handle(err, context)

    run.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    del run.__wrapped__  # bolt reads the signature above, not the listener's own
    return run


def register(app: App) -> None:
    @app.error
    def on_error(error: Exception, context: BoltContext) -> None:
        handle(error, context)  # raised before a listener ran (a middleware, a malformed payload)
