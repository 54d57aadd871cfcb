"""Alertmanager webhooks in: the HTTP receiver (auth, validation, durable enqueue) and the fold of
an accepted body into its group's state (routing, the job it is about, merge).

The receiver does no Slack work and no lookups: it checks, stores the body in the Redis outbox and
answers, so Alertmanager never waits on Slack. The fold runs in the outbox worker.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from bot import metrics
from bot.domain.alerts.payload import GroupState, Target, Webhook, group_id, parse_webhook
from bot.domain.alerts.routing import job_candidates, merge, route_channel
from bot.domain.errors import BackendError
from bot.domain.jobs import JobRecord
from bot.services.needs import QueuePorts
from bot.services.ports import AlertStates

log = logging.getLogger(__name__)


class AlertReceiver:
    def __init__(self, store: AlertStates, token: str | None) -> None:
        self._store = store
        # Compared as bytes with hmac.compare_digest: the time taken says nothing about the token.
        self._expected = f"Bearer {token}".encode() if token else None

    def receive(self, authorization: str | None, body: str | bytes) -> tuple[int, str]:
        """(HTTP status, plain-text reason). Never raises."""
        status, reason = self._receive(authorization, body)
        metrics.ALERTS.labels({200: "accepted", 401: "unauthorized", 400: "invalid"}.get(status, "unavailable")).inc()
        return status, reason

    def _receive(self, authorization: str | None, body: str | bytes) -> tuple[int, str]:
        if self._expected is None:
            return 401, "ALERT_WEBHOOK_TOKEN is not set on the bot: alert webhooks are refused\n"
        given = (authorization or "").strip().encode()
        if not hmac.compare_digest(given, self._expected):
            return 401, "missing or wrong bearer token\n"
        try:
            hook = parse_webhook(body)
        except ValueError as err:
            return 400, f"not an Alertmanager v4 webhook: {err}\n"
        try:
            self._store.enqueue(hook.model_dump_json())
        except BackendError as err:  # Alertmanager retries a 5xx: nothing is lost
            log.warning("alert webhook not stored: %s", err)
            return 503, "the bot's store is unavailable; retry\n"
        return 200, "accepted\n"


class AlertFolder:
    """Folds accepted webhook bodies into group states and marks changed groups to send."""

    def __init__(self, rt: QueuePorts, store: AlertStates, clock: Callable[[], float]) -> None:
        self.rt = rt
        self.store = store
        self.clock = clock

    def fold(self, body: str) -> bool:
        """True when the group changed (and is now marked for sending)."""
        hook = Webhook.model_validate_json(body)
        gid = group_id(hook.groupKey)
        fresh = None if self.store.get(gid) is not None else self.new_group(gid, hook)

        def change(old: GroupState | None) -> GroupState | None:
            state = old or fresh or self.new_group(gid, hook)
            merged = merge(state, hook)
            return merged if merged is not None else (state if old is None else None)

        return self.store.update(gid, change, due=self.clock()) is not None

    def new_group(self, gid: str, hook: Webhook) -> GroupState:
        labels = {**hook.groupLabels, **hook.commonLabels}
        targets: list[Target] = []
        channel = route_channel(self.rt.policy.alerts, labels)
        if channel:
            targets.append(Target(channel=channel))
        else:
            log.warning("alert group %s matches no route and there is no default_channel", gid)
        job_key = None
        for labels_of_alert in [labels, *(a.labels for a in hook.alerts)]:
            record = self._managed_job(labels_of_alert)
            if record is not None:
                job_key = record.key
                if record.channel and record.card_ts:
                    targets.append(Target(channel=record.channel, thread_ts=record.card_ts))
                if any(a.labels.get("severity") == "critical" for a in hook.alerts):
                    targets.append(Target(channel=record.owner))  # a user id: the bot's DM with them
                break
        return GroupState(gid=gid, group_key=hook.groupKey, job_key=job_key, targets=targets)

    def _managed_job(self, labels: dict[str, str]) -> JobRecord | None:
        for namespace, name in job_candidates(labels):
            record = self.rt.store.get(namespace, name)
            if record is not None:
                return record
        return None
