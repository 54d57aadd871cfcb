"""The one owner of "this job's card": at most one post per job, ever; every other change an update.

A card that does not exist yet is *owed*, durably (``CardLedger`` in Redis), before the job it is for is
even stored; writers (launch, dispatcher, watcher, stops) only record what the card must show and
return: a poster thread per channel posts it at the channel's turn, rendering the newest record then,
and stores the ts. Updates before the ts exists wait for it (the poster shows the newest state once it
has posted). Every update is marked dirty in Redis until Slack has it, so the next process shows again
what a killed one had still queued. A post marks the obligation ``attempted`` before it leaves; a poster
that finds an attempted obligation (the bot died mid-post, or Slack gave no clear answer) first looks
for the card in the channel's history by its metadata (the job key and idempotency key) instead of
posting a second one. One claim (Redis, short TTL renewed while the post waits) keeps two replicas
apart.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial

from bot.domain.cards import Owed, card_metadata
from bot.domain.errors import BackendError
from bot.domain.jobs import JobRecord
from bot.domain.policy.config import Policy
from bot.render import replies as rendering
from bot.services.ports import CardLedger, Chat, JobQueue

log = logging.getLogger(__name__)

CLAIM_TTL_S = 10.0  # a dead poster's claim frees the card this fast; a live one renews every 3 s
SWEEP_S = 2.0  # owed cards no thread here is posting (after a restart, an unsure post) are taken up
ORPHAN_S = 60.0  # an obligation whose job was never stored (a crash between owe and submit) is dropped
SHOWN = ("state", "reason", "diagnosis", "node_names", "started_at", "finished_at", "eta", "over_quota")


class CardDesk:
    def follow_policy(self, policy: Policy) -> None:
        """A reloaded (or group-resolved) policy: team channels as it says now."""
        self.policy = policy

    def __init__(self, store: JobQueue, cards: Chat, policy: Policy, ledger: CardLedger,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.cards = cards
        self.policy = policy
        self.ledger = ledger
        self.clock = clock
        self.holder = uuid.uuid4().hex
        self._cond = threading.Condition()
        self._lanes: dict[str, deque[str]] = {}  # channel → owed job keys waiting for a poster here
        self._busy: set[str] = set()  # keys in a lane or being posted by this process
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._dirty_seen: dict[str, int] = {}  # the dirty cards at the last refresh

    # --- what writers call ---------------------------------------------------------------------

    def owe(self, r: JobRecord) -> None:
        """Record durably that ``r`` is owed a card (before it is stored: a crash after submit loses nothing)."""
        owed = self._owed(r)
        if owed is not None:
            self.ledger.owe(owed)

    def _owed(self, r: JobRecord) -> Owed | None:
        channels = tuple(dict.fromkeys(c for c in (r.channel, self._team_channel(r)) if c))
        return Owed(r.key, r.idempotency_key, channels, self.clock()) if channels else None

    def publish(self, r: JobRecord, origin: float | None = None) -> JobRecord:
        """Show ``r`` on its card: an update when the card exists, else the card is owed. Never waits on Slack."""
        if r.channel and r.card_ts:
            self._show(r, r.channel, r.card_ts, origin)
            return r
        self.owe(r)
        owed = self._team_channel(r) if not r.channel else r.channel
        if owed:
            self._kick(r.key, owed)
        return r

    def publish_many(self, records: Sequence[JobRecord]) -> None:
        """``publish`` of many records (the dispatcher's waiting jobs): their dirty marks, positions and
        obligations read and written in one round trip each, not one per card."""
        shown = [r for r in records if r.channel and r.card_ts]
        for r, version, position in zip(shown, self.ledger.dirty_many([r.key for r in shown]),
                                        self._positions(shown), strict=True):
            self.cards.update(r.channel or "", r.card_ts or "", rendering.job_card(r, position, self.clock()), None,
                              on_done=partial(self._clean, r.key, version))
        owed = [r for r in records if not (r.channel and r.card_ts)]
        self.ledger.owe_many([o for r in owed if (o := self._owed(r)) is not None])
        for r in owed:
            channel = r.channel or self._team_channel(r)
            if channel:
                self._kick(r.key, channel)

    def _positions(self, records: list[JobRecord]) -> list[int | None]:
        if self.policy.scheduler.mode == "kueue":
            return [None] * len(records)
        queued = [r.key for r in records if r.state == "queued"]
        at = dict(zip(queued, self.store.positions(queued), strict=True))
        return [at.get(r.key) for r in records]

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._sweeper = threading.Thread(target=self._sweep_loop, name="cards-sweep", daemon=True)
        self._sweeper.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop sweeping; wait (bounded) for the posts already taken up here."""
        self._stop.set()
        self.settle(timeout)

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until this process has no card to post; for tests, benchmarks and shutdown."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.1))
        return True

    def pending(self) -> int:
        with self._cond:
            return len(self._busy)

    def sweep(self) -> int:
        """Take up every owed card nobody here is posting; returns how many were taken up."""
        n = 0
        for owed in self.ledger.all():
            if owed.channels and self._kick(owed.job, owed.channels[0]):
                n += 1
        return n

    def _sweep_loop(self) -> None:
        first = True
        while True:  # at once on start (what a crashed process owed or had queued), then every SWEEP_S
            try:
                self.sweep()
                self.refresh(everything=first)
                first = False
            except BackendError as err:
                log.warning("owed cards not swept: %s", err)
            if self._stop.wait(SWEEP_S):
                return

    # --- the posters ---------------------------------------------------------------------------

    def _kick(self, key: str, channel: str) -> bool:
        with self._cond:
            if key in self._busy:
                return False
            self._busy.add(key)
            lane = self._lanes.get(channel)
            if lane is not None:
                lane.append(key)
                return True
            self._lanes[channel] = deque([key])
        threading.Thread(target=self._lane_loop, args=(channel,), name=f"cards-{channel}", daemon=True).start()
        return True

    def _lane_loop(self, channel: str) -> None:
        while True:
            with self._cond:
                lane = self._lanes[channel]
                if not lane:
                    del self._lanes[channel]
                    return
                key = lane.popleft()
            try:
                self.serve(key)
            except BackendError as err:
                log.warning("card of %s not posted yet (%s); the sweep tries again", key, err)
            except Exception:  # a thread loop: log it, the obligation stays for the sweep
                log.exception("posting the card of %s crashed; the sweep tries again", key)
            finally:
                with self._cond:
                    self._busy.discard(key)
                    self._cond.notify_all()

    def serve(self, key: str) -> None:
        """Post (or find, or update) the card owed to ``key``."""
        owed = self.ledger.get(key)
        if owed is None:
            return
        ns, _, name = key.partition("/")
        r = self.store.get(ns, name)
        if r is None or r.idempotency_key != owed.idem:
            if r is not None or self.clock() - owed.since > ORPHAN_S:
                self.ledger.settle(key)  # another job holds the name, or the job was never stored
            return
        if r.channel and r.card_ts:
            self._show(r, r.channel, r.card_ts)  # a change made before the ts was seen
            self.ledger.settle(key)
            return
        if not self.ledger.claim(key, self.holder, CLAIM_TTL_S):
            return  # another replica is posting it; if it dies, its claim expires and the sweep retries
        try:
            self._post(key, owed, r)
        finally:
            self.ledger.release(key, self.holder)

    def _post(self, key: str, owed: Owed, r: JobRecord) -> None:
        meta = card_metadata(r)
        ts, channel, shown = None, None, None
        if owed.attempted is not None:  # it may be in Slack already: look before posting again
            for ch in owed.channels:
                if (ts := self.cards.find_card(ch, meta)) is not None:
                    channel = ch
                    log.info("found the card of %s posted before (%s %s): not posting it again", key, ch, ts)
                    break
        if ts is None:
            for ch in owed.channels:
                owed = self.ledger.attempt(owed, self.clock())
                shown = self.store.get(r.namespace, r.name) or r  # the newest picture when it leaves
                out = self.cards.post_card(ch, self._render(shown), meta, lambda: self._keep(key))
                if out.unsure:
                    log.warning("card of %s: Slack gave no clear answer; looking for it before posting", key)
                    return  # the obligation stays, attempted: the next try looks in the history first
                if out.ts is not None:
                    ts, channel = out.ts, ch
                    break
        if ts is None or channel is None:
            log.warning("no channel of %s took the card of %s; it is not posted", owed.channels, key)
            self.ledger.settle(key)
            return
        updated = self.store.update(r.namespace, r.name, channel=channel, card_ts=ts)
        self.ledger.settle(key)
        if updated is not None and (shown is None or _changed(shown, updated)):
            # the job moved on while its card waited (or a found card shows an older state)
            self._show(updated, channel, ts)

    def _keep(self, key: str) -> bool:
        try:
            return self.ledger.renew(key, self.holder, CLAIM_TTL_S)
        except BackendError:
            return False

    def _show(self, r: JobRecord, channel: str, ts: str, origin: float | None = None) -> None:
        """Update the card; durably dirty until Slack has it (a queued update dies with its process)."""
        version = self.ledger.dirty(r.key)
        self.cards.update(channel, ts, self._render(r), origin, on_done=lambda: self._clean(r.key, version))

    def _clean(self, key: str, version: int) -> None:
        try:
            self.ledger.clean(key, version)
        except BackendError as err:  # stays dirty: shown again by a later sweep, which costs one update
            log.info("card of %s stays marked dirty: %s", key, err)

    def refresh(self, everything: bool = False) -> int:
        """Show again the cards whose newest change may not be in Slack: all of them (``everything``, at
        start: what a dead process had queued) or those dirty at the same version as at the last call."""
        dirty = self.ledger.dirties()
        stuck = dirty if everything else {k: v for k, v in dirty.items() if self._dirty_seen.get(k) == v}
        self._dirty_seen = dirty
        for key, version in stuck.items():
            ns, _, name = key.partition("/")
            r = self.store.get(ns, name)
            if r is None or not (r.channel and r.card_ts):
                self.ledger.clean(key, version)  # gone, or not posted yet (then the poster shows it)
                continue
            self._show(r, r.channel, r.card_ts)
        return len(stuck)

    # --- helpers -------------------------------------------------------------------------------

    def _render(self, r: JobRecord) -> rendering.Reply:
        # With Kueue the bot's own queue order means nothing: Kueue's place is in the reason.
        ours = self.policy.scheduler.mode != "kueue"
        position = self.store.position(r.namespace, r.name) if r.state == "queued" and ours else None
        return rendering.job_card(r, position, self.clock())

    def _team_channel(self, r: JobRecord) -> str | None:
        team = self.policy.teams.get(r.team)
        return team.channel if team else None


def _changed(before: JobRecord, after: JobRecord) -> bool:
    return any(getattr(before, f) != getattr(after, f) for f in SHOWN)
