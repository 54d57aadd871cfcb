"""`/gpu history` (finished jobs, like sacct) and `/gpu report` (GPU-hours and cost), from the records
in the queue store; finished jobs older than the policy's ``retention`` are not shown."""

from __future__ import annotations

from typing import Protocol

from bot.domain import messages as msg
from bot.domain.accounting.usage import finished_within, report_rows
from bot.domain.actions import History, Report
from bot.domain.jobs import CONTRACT_STATES, FINAL_STATES, JobRecord
from bot.domain.policy.judge import identify
from bot.render import accounting as render
from bot.render.replies import Reply
from bot.services.needs import HasChat, HasClock, HasPolicy, HasStore

MAX_RECORDS = 100_000


class AccountingPorts(HasPolicy, HasStore, HasChat, HasClock, Protocol): ...


class Accounting:
    def __init__(self, rt: AccountingPorts) -> None:
        self.rt = rt

    def history(self, action: History, user_id: str) -> Reply:
        ident = identify(self.rt.policy, user_id)
        now = self.rt.clock()
        since = now - min(action.days * 86400, self.rt.policy.retention)
        states = CONTRACT_STATES[action.state] if action.state else tuple(sorted(FINAL_STATES))
        finals = [s for s in states if s in FINAL_STATES]
        if action.scope == "mine":
            records = self.rt.store.list(owner=ident.user_id, states=finals, limit=MAX_RECORDS)
        elif action.scope == "team" or (not ident.team and not ident.is_admin):
            records = self.rt.store.list(team=ident.team, states=finals, limit=MAX_RECORDS)
        else:
            records = self.rt.store.list(states=finals, limit=MAX_RECORDS)
        shown = finished_within(records, since, finals)
        return render.history(msg.history_title(action.scope, action.days), shown, now, action.days)

    def _records(self, team: str | None) -> list[JobRecord]:
        if team is not None:
            return self.rt.store.list(team=team, limit=MAX_RECORDS)
        return self.rt.store.list(limit=MAX_RECORDS)

    def report(self, action: Report, user_id: str, channel: str | None = None) -> Reply:
        """Admins see every team; anyone else their own team. The CSV goes to the channel asked in."""
        ident = identify(self.rt.policy, user_id)
        now = self.rt.clock()
        window = min(action.since_s, self.rt.policy.retention)
        team = None if ident.is_admin else ident.team
        rows = report_rows(self._records(team), action.by, now - window, now, self.rt.policy.gpu_prices)
        if not rows:
            return Reply(text=msg.report_empty(window))
        title = msg.report_title(action.by, window, team)
        if channel:
            name = f"gpu-report-{action.by.replace('_', '-')}.csv"
            self.rt.cards.upload(channel, name, render.report_csv(rows, action.by), title,
                                 msg.report_csv_comment(title))
        return render.report(title, rows, action.by)
