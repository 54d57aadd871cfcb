"""Reloading the policy file without a restart (SIGHUP): validated first; a bad file changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
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
RESTART_KEYS = ("redis_prefix", "gpu_types")


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

    def reload(self) -> bool:
        """True when the new policy is in force; False (old policy kept, reasons logged) otherwise."""
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
        self.directory.set_written(new)
        log.info(msg.reload_ok(self.path, len(new.teams)))
        self._audit("config.reloaded", "ok" + (f" ({', '.join(changed)}: after a restart)" if changed else ""))
        return True

    def _audit(self, action: str, result: str) -> None:
        append(self.rt.audit, AuditEntry(self.rt.clock(), "", "", action, self.path, result))
