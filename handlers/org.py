"""Listeners of the org features: the audit trail's pages, approval cards and their deny modal, and
Slack's user group events (membership changes refresh the teams)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.domain.errors import Refusal
from bot.render.approvals import APPROVAL_APPROVE, APPROVAL_DENY, APPROVAL_DENY_VIEW, REASON_BLOCK, deny_reason
from bot.render.audit import AUDIT_OLDER
from bot.services.audit import mark_request
from bot.services.commands import CommandService
from bot.services.directory import Directory
from handlers.errors import answer, answered
from handlers.payloads import BadPayload, clicked


def register(app: App, commands: CommandService, directory: Directory | None) -> None:
    approvals = commands.approvals

    @app.middleware
    def request_id(body: dict[str, Any], next: Callable[[], None]) -> None:
        """Every request's id (Slack's trigger_id or event_id) for the logs and the audit trail. Bolt calls
        the listener after the middleware returns, so it is set, not scoped: the HTTP route runs each
        request in a context of its own, and the listener pool copies it into the thread doing the work."""
        mark_request(str(body.get("trigger_id") or body.get("event_id") or uuid.uuid4().hex[:12]))
        next()

    @app.action(AUDIT_OLDER)
    @answered
    def audit_older(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        click = clicked(body)
        answer(respond, commands.audit.older(click.value, click.user.id))

    @app.action(APPROVAL_APPROVE)
    @answered
    def approve(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        click = clicked(body)
        answer(respond, approvals.approve(click.value, click.user.id))

    @app.action(APPROVAL_DENY)
    @answered
    def deny(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        click = clicked(body)
        trigger = body.get("trigger_id")
        if not isinstance(trigger, str) or not trigger:
            raise BadPayload("a [Deny] click without a trigger_id")
        approvals.deny_form(click.value, click.user.id, trigger)

    @app.view(APPROVAL_DENY_VIEW)
    @answered
    def deny_submitted(ack: Ack, body: dict[str, Any]) -> None:
        view = body.get("view") or {}
        user = (body.get("user") or {}).get("id")
        token = view.get("private_metadata")
        if not isinstance(user, str) or not isinstance(token, str):
            ack()
            raise BadPayload("a deny modal without its user or request")
        try:
            approvals.deny(token, user, deny_reason(view))
        except Refusal as err:  # shown in the modal, under the reason field
            ack(response_action="errors", errors={REASON_BLOCK: err.why[:150]})
            return
        ack()

    def groups_changed() -> None:
        if directory is not None:
            directory.changed()

    @app.event("subteam_members_changed")
    @answered
    def members_changed(event: dict[str, Any]) -> None:
        groups_changed()

    @app.event("subteam_updated")
    @answered
    def group_updated(event: dict[str, Any]) -> None:
        groups_changed()

    @app.event("subteam_created")
    @answered
    def group_created(event: dict[str, Any]) -> None:
        groups_changed()
