"""The App Home tab: published when the user opens it (``app_home_opened``)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.domain.errors import BackendError
from bot.services.commands import CommandService
from bot.services.home import HomeService
from handlers.errors import answered

log = logging.getLogger(__name__)


def register(app: App, commands: CommandService) -> None:
    home = HomeService(commands.rt)

    @app.event("app_home_opened")
    @answered
    def opened(event: dict[str, Any]) -> None:
        user = event.get("user")
        if not user or event.get("tab", "home") != "home":
            return
        try:
            home.opened(str(user))
        except BackendError as err:
            log.warning("home tab of %s not published: %s", user, err)
