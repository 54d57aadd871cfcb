"""The buttons on an alert message: silence (1h/4h), expire the silence, stop the job.

Silences go to Alertmanager (its v2 API) with matchers that cover exactly the group's alerts and
``createdBy`` = the clicker's Slack id; the group's message then shows who silenced it until when.
[Stop job] is ``/gpu stop``'s path: the same rights (``check_stop``) through the JobsService.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from bot import logs
from bot.domain import messages as msg
from bot.domain.alerts.payload import GroupState, Silence
from bot.domain.alerts.routing import silence_matchers
from bot.domain.audit import AuditEntry
from bot.domain.errors import BackendError, NotFoundError, PolicyError
from bot.domain.policy.judge import identify
from bot.render import replies as rendering
from bot.services.audit import append
from bot.services.jobs import JobsService
from bot.services.needs import HasPolicy
from bot.services.ports import AlertStates, AuditLog, Silences


class AlertActions:
    def __init__(self, rt: HasPolicy, store: AlertStates, alertmanager: Silences | None, jobs: JobsService,
                 *, wake: Callable[[], None] = lambda: None, clock: Callable[[], float] = time.time,
                 audit: AuditLog | None = None) -> None:
        self.rt = rt
        self.store = store
        self.am = alertmanager
        self.jobs = jobs
        self.wake = wake  # the outbox: show the change now rather than at its next pass
        self.clock = clock
        self.audit = audit  # silences created and expired are changes: they go in the trail

    def _group(self, gid: str) -> GroupState:
        state = self.store.get(gid)
        if state is None:
            raise NotFoundError(msg.alert_group_gone(), None)
        return state

    def _alertmanager(self) -> Silences:
        if self.am is None:
            raise PolicyError(msg.alertmanager_unset(), None)
        return self.am

    def silence(self, gid: str, user_id: str, hours: int) -> rendering.Reply:
        ident = identify(self.rt.policy, user_id)  # only people the policy knows may silence
        am = self._alertmanager()
        state = self._group(gid)
        now = self.clock()
        until = now + hours * 3600
        comment = f"Silenced from Slack for {hours}h (alert group {gid})"
        silence_id = am.create_silence(silence_matchers(state), now, until, user_id, comment)
        if state.silence is not None and state.silence.until > now:
            # one silence per group from the bot: the new one replaces the old (which may be gone)
            with contextlib.suppress(BackendError):
                am.expire_silence(state.silence.id)
        self._set_silence(gid, Silence(id=silence_id, by=user_id, until=until))
        self._audit(user_id, ident.team, "silence.created", silence_id, f"ok: {hours}h, alert group {gid}")
        return rendering.text_reply(msg.alert_silence_created(hours, silence_id))

    def expire(self, gid: str, user_id: str) -> rendering.Reply:
        ident = identify(self.rt.policy, user_id)
        am = self._alertmanager()
        state = self._group(gid)
        if state.silence is None:
            raise NotFoundError(msg.alert_no_silence(), None)
        am.expire_silence(state.silence.id)
        self._set_silence(gid, None)
        self._audit(user_id, ident.team, "silence.expired", state.silence.id, f"ok: alert group {gid}")
        return rendering.text_reply(msg.alert_silence_expired(state.silence.id))

    def _audit(self, user: str, team: str, action: str, target: str, result: str) -> None:
        if self.audit is not None:
            append(self.audit, AuditEntry(self.clock(), user, team, action, target, result,
                                          logs.REQUEST_ID.get() or ""))

    def stop_job(self, job_key: str, user_id: str) -> rendering.Reply:
        return self.jobs.stop_key(job_key, user_id)

    def _set_silence(self, gid: str, silence: Silence | None) -> None:
        def change(cur: GroupState | None) -> GroupState | None:
            if cur is None:
                return None
            return cur.model_copy(update={"silence": silence, "version": cur.version + 1})

        self.store.update(gid, change, due=self.clock())
        self.wake()
