"""Reloading the policy file without a restart (SIGHUP, or the file changing): validated first; a bad
file changes nothing.

``check_file`` is the file watch: called every few seconds on a background thread, it reloads when
the file's content (its SHA-256: a ConfigMap's symlink swap and an editor's rename both show) has
changed and then stayed the same for one more look, so a file caught half-written is not taken. A
content already tried (taken or refused) is not tried again: a bad file is reported once.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from bot.domain import messages as msg
from bot.domain.audit import AuditEntry
from bot.domain.errors import ConfigError
from bot.domain.policy.config import Policy
from bot.render.replies import text_reply
from bot.services.audit import append
from bot.services.directory import Directory
from bot.services.ports import AuditLog, Chat, Clock

log = logging.getLogger(__name__)
# Read once at start by the adapters (the Redis key prefix, the node labels): a change needs a restart.
RESTART_KEYS = ("redis_prefix", "gpu_types", "clusters")
# Kept from the running policy until a restart: the adapters were built for them (a job must never be
# placed on a cluster the bot has no client for).
KEPT_KEYS = ("clusters",)
CONFIG_POLL_S = 2.0  # the file watch looks this often: a change is in force within about twice that


class ReloadPorts(Protocol):
    @property
    def audit(self) -> AuditLog: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def cards(self) -> Chat: ...
    @property
    def policy(self) -> Policy: ...


class Reloader:
    def __init__(self, rt: ReloadPorts, directory: Directory, path: str,
                 load: Callable[[str], Policy]) -> None:
        self.rt = rt
        self.directory = directory
        self.path = path
        self.load = load
        self._lock = threading.Lock()  # SIGHUP and the file watch: one reload at a time
        self._tried = self._pending = _digest(path)  # the content in force at start

    def check_file(self) -> bool:
        """The file watch: reload when the file changed and has stayed so since the last look."""
        now = _digest(self.path)
        if now is None or now == self._tried:
            self._pending = now
            return False
        if now != self._pending:  # changed since the last look: look again before taking it
            self._pending = now
            return False
        log.info(msg.reload_file_changed(self.path))
        return self.reload()

    def reload(self) -> bool:
        """True when the new policy is in force; False (old policy kept, reasons logged) otherwise."""
        with self._lock:
            self._tried = self._pending = _digest(self.path)
            return self._reload()

    def _reload(self) -> bool:
        try:
            new = self.load(self.path)
        except ConfigError as err:
            log.error(msg.reload_rejected(self.path, err.problems))
            self._audit("config.rejected", f"refused: {'; '.join(err.problems)}"[:500])
            for admin in self.rt.policy.admins:  # the people who can fix it hear of it, not only the logs
                self.rt.cards.dm(admin, text_reply(msg.reload_rejected_dm(self.path, err.problems)))
            return False
        old = self.directory.written
        changed = [k for k in RESTART_KEYS if getattr(old, k) != getattr(new, k)]
        if changed:
            log.warning(msg.reload_needs_restart(changed))
            new = new.model_copy(update={k: getattr(old, k) for k in KEPT_KEYS if k in changed})
        self.directory.set_written(new)
        log.info(msg.reload_ok(self.path, len(new.teams)))
        self._audit("config.reloaded", "ok" + (f" ({', '.join(changed)}: after a restart)" if changed else ""))
        return True

    def _audit(self, action: str, result: str) -> None:
        append(self.rt.audit, AuditEntry(self.rt.clock(), "", "", action, self.path, result))


def _digest(path: str) -> str | None:
    """The file's content hash; None when it cannot be read right now (being replaced, say)."""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None
