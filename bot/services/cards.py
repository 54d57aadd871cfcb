"""The one card per job: posted once (by the card desk, at its channel's turn), updated in place on every
state change. Writers call ``publish_card`` and return at once: it never waits on Slack."""

from __future__ import annotations

from bot.domain.jobs import JobRecord
from bot.services.needs import CardPorts


def publish_card(rt: CardPorts, record: JobRecord, origin: float | None = None) -> JobRecord:
    """Show ``record`` on its card (an update, or the card owed and posted soon by the desk).

    ``origin``: monotonic time of the change that caused this, for the watcher-lag measurement.
    """
    return rt.desk.publish(record, origin)
