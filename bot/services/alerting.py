"""The alert pipeline's parts, built from settings: receiver → Redis outbox → worker → Slack, and the
idle-GPU nudger when Prometheus is known. ``Bot`` starts and stops it with the HTTP server."""

from __future__ import annotations

from dataclasses import dataclass

from bot.adapters.alertmanager import Alertmanager
from bot.adapters.redis.alert_store import AlertStore
from bot.services.alert_actions import AlertActions
from bot.services.alert_intake import AlertFolder, AlertReceiver
from bot.services.alert_outbox import AlertOutbox
from bot.services.gpu_views import IdleNudger
from bot.services.jobs import JobsService
from bot.services.runtime import Runtime
from bot.settings import Settings


def alert_store(rt: Runtime) -> AlertStore:
    return AlertStore(rt.store.client, rt.policy.redis_prefix)


def alert_actions(settings: Settings, rt: Runtime, jobs: JobsService) -> AlertActions:
    """What the alert buttons call (registered by ``build_bolt_app``)."""
    am = Alertmanager(settings.alertmanager_url) if settings.alertmanager_url else None
    return AlertActions(rt, alert_store(rt), am, jobs, clock=rt.clock)


@dataclass
class AlertPipeline:
    receiver: AlertReceiver
    outbox: AlertOutbox
    nudger: IdleNudger | None

    @classmethod
    def create(cls, settings: Settings, rt: Runtime) -> AlertPipeline:
        store = alert_store(rt)
        receiver = AlertReceiver(store, Settings.reveal(settings.alert_webhook_token))
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
