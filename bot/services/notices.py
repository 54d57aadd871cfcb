"""Replies in a job card's thread (started, waiting, failed + log tail, succeeded, stopped), each once,
and the owner's optional DM when a job finishes (a preference, off by default)."""

from __future__ import annotations

import logging

from bot.domain import messages as msg
from bot.domain.errors import BackendError
from bot.domain.jobs import FINAL_STATES, JobRecord
from bot.render import cards as cards_render
from bot.render.replies import Reply
from bot.services.needs import HasNoticeMarks, NoticePorts
from bot.services.ports import NoticeMarks

log = logging.getLogger(__name__)

DM_ON_FINISH = "pref:dm_on_finish"


def notice_store(rt: HasNoticeMarks) -> NoticeMarks:
    return rt.notice_marks


def set_dm_on_finish(rt: NoticePorts, user: str, on: bool) -> str:
    """The user's preference: a DM when any of their jobs finishes. Returns the confirmation text."""
    notice_store(rt).set_flag(DM_ON_FINISH, user, on)
    return msg.dm_pref_set(on)


def dm_on_finish(rt: NoticePorts, user: str) -> bool:
    return notice_store(rt).flag(DM_ON_FINISH, user)


class Notices:
    def __init__(self, rt: NoticePorts, marks: NoticeMarks | None = None) -> None:
        self.rt = rt
        self.marks = marks or notice_store(rt)

    def announce(self, r: JobRecord, event: str, log_tail: str = "") -> bool:
        """Reply ``event`` in the card's thread once. False when the card has no ts yet (try later)."""
        if not (r.channel and r.card_ts):
            return False
        if not self.marks.first(r.key, event):
            return True  # told already (a replay, a reconnect, another replica)
        text, blocks = cards_render.thread_reply(r, event, self.rt.clock(), log_tail)
        # In a backlog (one post per second per channel) a job's later news makes its earlier news stale:
        # the card already shows it, so only the newest reply of the thread waits for its turn.
        self.rt.cards.reply_in_thread(r.channel, r.card_ts, Reply(text=text, blocks=blocks), newest_only=True)
        if event in FINAL_STATES or event == "timedout":
            self._dm(r)
        return True

    def _dm(self, r: JobRecord) -> None:
        try:
            wanted = dm_on_finish(self.rt, r.owner)
        except BackendError:
            return
        if wanted:
            link = f"<#{r.channel}>" if r.channel else None
            text = msg.dm_finished(r.name, r.state, link)
            self.rt.cards.dm(r.owner, Reply(text=text, blocks=[]))
