"""The App Home tab, published when a user opens it and again whenever one of their jobs changes
(coalesced per user by the outbound layer; only for users who opened it once)."""

from __future__ import annotations

import time
from typing import Any

from bot.domain.errors import BackendError
from bot.domain.jobs import FINAL_STATES, RUNNING_STATES
from bot.render.home import HomeFacts, home_view
from bot.services.needs import HomePorts
from bot.services.notices import notice_store
from bot.services.ports import NoticeMarks

SEEN = "home:seen"
RECENT_FINISHED = 5
SEEN_CACHE_S = 5.0  # the watcher asks on every job change; a Redis round trip each time adds up


class HomeService:
    def __init__(self, rt: HomePorts, marks: NoticeMarks | None = None) -> None:
        self.rt = rt
        self.marks = marks or notice_store(rt)
        self._seen: set[str] = set()
        self._seen_at = float("-inf")

    def opened(self, user: str) -> None:
        """``app_home_opened``: remember the user wants it, and publish it now."""
        self.marks.set_flag(SEEN, user, True)
        self._seen.add(user)
        self.publish(user)

    def refresh(self, user: str) -> None:
        """One of the user's jobs changed."""
        now = time.monotonic()
        if now - self._seen_at > SEEN_CACHE_S:  # another replica's handler may have added users
            self._seen, self._seen_at = self.marks.members(SEEN), now
        if user in self._seen:
            self.publish(user)

    def publish(self, user: str) -> None:
        self.rt.cards.publish_view(user, self.view(user))

    def facts(self, user: str) -> HomeFacts:
        store, policy = self.rt.store, self.rt.policy
        mine = store.list(owner=user, limit=100)
        queued = [(r, store.position(r.namespace, r.name)) for r in mine if r.state == "queued"]
        team_name: str | None = None
        used = quota = borrowed = 0
        found = policy.team_of(user)
        if found is not None:
            team_name, team = found
            holding = store.list(team=team_name, states=RUNNING_STATES, limit=10_000)
            used = sum(r.gpus for r in holding if not r.over_quota)
            borrowed = sum(r.gpus for r in holding if r.over_quota)
            quota = team.gpu_quota
        free: list[tuple[str, int, int]] = []
        try:
            cluster = self.rt.cluster.snapshot().facts
            free = [(t, cluster.free(t), cluster.capacity(t)) for t in policy.gpu_types if cluster.capacity(t)]
        except BackendError:
            pass  # the rest of the tab is still worth showing
        return HomeFacts(
            running=[r for r in mine if r.state in RUNNING_STATES],
            queued=queued,
            finished=[r for r in mine if r.state in FINAL_STATES][:RECENT_FINISHED],
            team=team_name, team_used=used, team_quota=quota, free_by_type=free, team_borrowed=borrowed,
        )

    def view(self, user: str) -> dict[str, Any]:
        return home_view(self.facts(user))
