"""Who is in which team when the policy names Slack user groups: the policy as written, resolved.

The bot's services read ``rt.policy``; this keeps it equal to the written policy with every group
replaced by its members. Membership comes from Slack (on start, on ``subteam_*`` events, every ten
minutes) and is kept in Redis; when Slack cannot be reached the last known membership stays in use
and the logs say so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Protocol

from bot.domain import messages as msg
from bot.domain.errors import BackendError
from bot.domain.policy.config import Policy
from bot.domain.policy.groups import GroupSnapshot, resolve
from bot.services.ports import Clock, GroupCache

log = logging.getLogger(__name__)
REFRESH_EVERY_S = 600.0


class PolicyHolder(Protocol):
    policy: Policy

    @property
    def clock(self) -> Clock: ...


class GroupSource(Protocol):
    def fetch(self, named: Iterable[str]) -> GroupSnapshot: ...


class Directory:
    def __init__(self, rt: PolicyHolder, source: GroupSource, cache: GroupCache, written: Policy) -> None:
        self.rt = rt
        self.source = source
        self.cache = cache
        self.written = written  # the policy file as loaded (groups unresolved)
        self._snap: GroupSnapshot | None = None
        # Whoever keeps a copy of the policy beside ``rt.policy`` (the card desk) hears of each change.
        self.on_change: list[Callable[[Policy], None]] = []
        self._lock = threading.Lock()
        self._wanted = threading.Event()  # a membership event came in while a refresh was running

    def set_written(self, policy: Policy) -> None:
        """A reloaded policy file: resolve it with what is known, then ask Slack again."""
        with self._lock:
            self.written = policy
            self._apply()
        self.refresh()

    def changed(self) -> None:
        """A ``subteam_*`` event: refresh, but a burst of events costs one refresh (plus one after it),
        not one each (usergroups.* are rate-limited tier-2 methods)."""
        self._wanted.set()
        while self._wanted.is_set():
            if not self._lock.acquire(blocking=False):
                return  # the refresh running now, or the one it is followed by, reads the change
            try:
                self._wanted.clear()
                self._refresh_locked()
            finally:
                self._lock.release()

    def refresh(self) -> None:
        """Read the groups from Slack (or fall back to the last known ones) and resolve the policy."""
        with self._lock:
            self._refresh_locked()

    def _refresh_locked(self) -> None:
        named = self.written.groups_named()
        if not named:
            self._apply()
            return
        try:
            self._snap = self.source.fetch(named)
        except BackendError as err:
            if self._snap is None:
                self._snap = self._cached()
            age = int(self.rt.clock() - self._snap.fetched_at) if self._snap is not None else None
            log.warning(msg.groups_unreachable(str(err), age))
        else:
            try:
                self.cache.save(self._snap)
            except BackendError as err:
                log.warning("user groups not cached in Redis: %s", err)
        self._apply()

    def _cached(self) -> GroupSnapshot | None:
        try:
            return self.cache.load()
        except BackendError as err:
            log.warning("no cached user groups: %s", err)
            return None

    def _apply(self) -> None:
        snap = self._snap or GroupSnapshot()
        out = resolve(self.written, snap)
        for ref in out.unknown:
            log.warning("the policy names the user group %s, which Slack does not have (or it is disabled)", ref)
        for user, teams in sorted(out.conflicts.items()):
            log.warning("user %s is in the groups of teams %s; refused until they are in one", user, ", ".join(teams))
        self.rt.policy = out.policy
        for listener in self.on_change:
            listener(out.policy)
