"""Who may extend, hold, release and requeue a job, and by how much: pure checks with their fixes."""

from __future__ import annotations

from bot.domain import messages as msg
from bot.domain.actions import Extend, ListJobs, Status
from bot.domain.errors import ForbiddenError, PolicyError
from bot.domain.jobs import ACTIVE_STATES, JobRecord
from bot.domain.policy.config import Policy
from bot.domain.policy.judge import Identity


def check_owner(ident: Identity, record: JobRecord, verb: str) -> None:
    """Owners act on their jobs; admins on anyone's; others are refused (with a read-only fix)."""
    if record.owner != ident.user_id and not ident.is_admin:
        raise ForbiddenError(msg.not_yours_to(verb, record.name, record.owner), ListJobs(scope="mine"))


def extended_limit(policy: Policy, ident: Identity, record: JobRecord, by_s: int, *, approved: bool = False,
                   beyond_max: bool = False) -> int:
    """The job's new time limit after adding ``by_s``: never beyond ``limits.max_time_limit`` (unless an
    approval under an ``over_max_time`` rule allows it: ``beyond_max``). ``approved``: an approver's yes
    stands in for an admin's (``limits.max_extend_without_admin``)."""
    check_owner(ident, record, "extend")
    if record.state not in ACTIVE_STATES:
        raise PolicyError(msg.cannot_extend_state(record.name, record.state), Status(job=record.name))
    cap = policy.limits.max_extend_without_admin
    if cap is not None and by_s > cap and not ident.is_admin and not approved:
        raise ForbiddenError(msg.extend_needs_admin(record.name, by_s, cap), Extend(job=record.name, by_s=cap))
    wanted = record.time_limit_s + by_s
    most = policy.limits.max_time_limit
    if wanted > most and not beyond_max:
        room = most - record.time_limit_s
        fix = Extend(job=record.name, by_s=room) if room >= 60 else Status(job=record.name)
        raise PolicyError(msg.extend_beyond_max(record.name, wanted, most, room), fix)
    return wanted
