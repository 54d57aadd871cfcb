"""The one card per job: posted on submit, updated in place on every state change.

A new card waits for its channel's turn (its ts must be stored); updates go through the outbound
layer's coalescing, so a burst of changes to one card costs one ``chat.update`` with the newest state.
"""

from __future__ import annotations

from bot.domain.jobs import JobRecord
from bot.render import replies as rendering
from bot.services.ports import CardPorts


def publish_card(rt: CardPorts, record: JobRecord, origin: float | None = None) -> JobRecord:
    """Post the job's card (or update it when it exists); remembers where it lives.

    ``origin``: monotonic time of the change that caused this, for the watcher-lag measurement.
    """
    position = rt.store.position(record.namespace, record.name) if record.state == "queued" else None
    reply = rendering.job_card(record, position, rt.clock())
    if record.channel and record.card_ts:
        rt.cards.update(record.channel, record.card_ts, reply, origin)
        return record
    channels = [c for c in (record.channel, _team_channel(rt, record)) if c]
    for channel in channels:
        ts = rt.cards.post(channel, reply)
        if ts:
            updated = rt.store.update(record.namespace, record.name, channel=channel, card_ts=ts)
            if updated is not None and _changed(record, updated):
                # the job moved on while the card waited for its turn (the watcher skips cards
                # without a ts, so it never posts a second one): show where it is now
                position = rt.store.position(updated.namespace, updated.name) if updated.state == "queued" else None
                rt.cards.update(channel, ts, rendering.job_card(updated, position, rt.clock()), origin)
            return updated or record
    return record


def _changed(before: JobRecord, after: JobRecord) -> bool:
    shown = ("state", "reason", "diagnosis", "node_names", "started_at", "finished_at", "eta")
    return any(getattr(before, f) != getattr(after, f) for f in shown)


def _team_channel(rt: CardPorts, record: JobRecord) -> str | None:
    team = rt.policy.teams.get(record.team)
    return team.channel if team else None
