"""The audit trail: every change appended (who, team, what, on what, result, request id); admins read it."""

from __future__ import annotations

import json
import logging
from typing import Protocol

from bot import logs
from bot.domain import messages as msg
from bot.domain.actions import Audit
from bot.domain.audit import AuditEntry
from bot.domain.errors import BackendError, PolicyError, ValidationError
from bot.render import replies as rendering
from bot.render.audit import audit_page
from bot.services.needs import HasClock, HasPolicy
from bot.services.ports import AuditLog, HasAudit

log = logging.getLogger(__name__)
PAGE = 15  # entries per page: one page stays well inside Slack's 50 blocks and 3000-character sections


class AuditPorts(HasPolicy, HasAudit, HasClock, Protocol): ...


class Recorder(HasAudit, HasClock, Protocol): ...


def mark_request(request_id: str) -> None:
    """The id of the Slack request being handled (its log lines and audit entries carry it)."""
    logs.REQUEST_ID.set(request_id)


def record(rt: Recorder, user: str, team: str, action: str, target: str, result: str = "ok") -> None:
    """Append one entry. The change it records has happened: a failed append is logged, never undoes it."""
    append(rt.audit, AuditEntry(rt.clock(), user, team, action, target, result, logs.REQUEST_ID.get() or ""))


def append(audit: AuditLog, entry: AuditEntry) -> None:
    try:
        audit.append(entry)
    except BackendError as err:
        log.error("audit entry not written (%s): %s", err, json.dumps(entry.to_dict()))


class AuditService:
    def __init__(self, rt: AuditPorts) -> None:
        self.rt = rt

    def view(self, action: Audit, user_id: str, before: str | None = None) -> rendering.Reply:
        """A page of the trail, newest first, for admins (ephemeral); others are told why not."""
        if not self.rt.policy.is_admin(user_id):
            raise PolicyError(msg.audit_admins_only(user_id, self.rt.policy.admins), None)
        since = self.rt.clock() - action.days * 86400
        entries, next_before = self.rt.audit.page(since=since, before=before, user=action.user, limit=PAGE)
        older = None
        if next_before is not None:
            older = json.dumps({"days": action.days, "user": action.user, "before": next_before})
        return audit_page(entries, action.days, action.user, older)

    def older(self, value: str, user_id: str) -> rendering.Reply:
        """The [Older entries] button: its value carries the filter and where the last page ended."""
        try:
            data = json.loads(value)
            action = Audit(days=int(data["days"]), user=data.get("user"))
            before = str(data["before"])
        except (ValueError, KeyError, TypeError) as err:
            raise ValidationError(msg.audit_bad_page(), "/gpu audit") from err
        return self.view(action, user_id, before)
