"""Every sentence the bot says to a person, in one place (one module per area).

Each refusal says what was wrong and the exact command that would work. Functions (not bare
constants) where the text needs values, so call sites never assemble user-facing prose.
``from bot.core import messages as msg`` gives every text as ``msg.<name>``.
"""

from __future__ import annotations

from bot.domain.messages.alerts import *  # noqa: F403
from bot.domain.messages.backends import *  # noqa: F403
from bot.domain.messages.cards import *  # noqa: F403
from bot.domain.messages.clusters import *  # noqa: F403
from bot.domain.messages.console import *  # noqa: F403
from bot.domain.messages.conversation import *  # noqa: F403
from bot.domain.messages.kueue import *  # noqa: F403
from bot.domain.messages.org import *  # noqa: F403
from bot.domain.messages.parsing import *  # noqa: F403
from bot.domain.messages.policy import *  # noqa: F403
from bot.domain.messages.scheduler import *  # noqa: F403
from bot.domain.messages.setup import *  # noqa: F403
from bot.domain.messages.slurm import *  # noqa: F403
from bot.domain.messages.watcher import *  # noqa: F403
