"""The one card per job: posted on submit, updated in place on every state change."""

from __future__ import annotations

from bot.core import rendering
from bot.core.jobs import JobRecord
from bot.services.runtime import Runtime


def publish_card(rt: Runtime, record: JobRecord) -> JobRecord:
    """Post the job's card (or update it when it exists); remembers where it lives."""
    position = rt.store.position(record.namespace, record.name) if record.state == "queued" else None
    reply = rendering.job_card(record, position, rt.clock())
    if record.channel and record.card_ts:
        rt.cards.update(record.channel, record.card_ts, reply)
        return record
    channels = [c for c in (record.channel, _team_channel(rt, record)) if c]
    for channel in channels:
        ts = rt.cards.post(channel, reply)
        if ts:
            updated = rt.store.update(record.namespace, record.name, channel=channel, card_ts=ts)
            return updated or record
    return record


def _team_channel(rt: Runtime, record: JobRecord) -> str | None:
    team = rt.policy.teams.get(record.team)
    return team.channel if team else None
