"""The alert pipeline's parts, built from settings: receiver → Redis outbox → worker → Slack, and the
idle-GPU nudger when Prometheus is known. ``Bot`` starts and stops it with the HTTP server."""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.alert_actions import AlertActions
from bot.services.alert_intake import AlertFolder, AlertReceiver
from bot.services.alert_outbox import AlertOutbox
from bot.services.gpu_views import IdleNudger
from bot.services.jobs import JobsService
from bot.services.needs import AlertPorts
from bot.services.ports import Silences


def alert_actions(rt: AlertPorts, silences: Silences | None, jobs: JobsService) -> AlertActions:
    """What the alert buttons call (registered by ``build_bolt_app``)."""
    return AlertActions(rt, rt.alerts, silences, jobs, clock=rt.clock, audit=rt.audit)


@dataclass
class AlertPipeline:
    receiver: AlertReceiver
    outbox: AlertOutbox
    nudger: IdleNudger | None

    @classmethod
    def create(cls, rt: AlertPorts, webhook_token: str | None) -> AlertPipeline:
        store = rt.alerts
        receiver = AlertReceiver(store, webhook_token)
        outbox = AlertOutbox(rt, store, AlertFolder(rt, store, rt.clock), clock=rt.clock)
        nudger = IdleNudger(rt, rt.prometheus, store, clock=rt.clock) if rt.prometheus is not None else None
        return cls(receiver, outbox, nudger)

    def start(self) -> None:
        self.outbox.start()
        if self.nudger is not None:
            self.nudger.start()

    def stop(self) -> None:
        if self.nudger is not None:
            self.nudger.stop()
        self.outbox.stop()
