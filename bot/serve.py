"""``chatops run``: check every setting first, then the bot token, then serve until SIGTERM.

A platform engineer's first run usually lacks several settings: they are all named in one message
(exit 2), never one traceback at a time.
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import signal
import sys
import threading

from bot.adapters.slack.web import bot_identity
from bot.domain import messages as msg
from bot.domain.errors import BackendError, ConfigError, PermanentBackendError
from bot.domain.policy.config import Policy, load_policy
from bot.settings import Settings, startup_problems

log = logging.getLogger(__name__)
EXIT_SETTINGS = 2  # a setting to fix
EXIT_UNAVAILABLE = 1  # something outside did not answer


def preflight(settings: Settings, *, socket_mode: bool, embedded_store: bool) -> tuple[Policy | None, list[str]]:
    """The policy (when it loads) and every problem of the settings, without touching the network."""
    problems = startup_problems(settings, socket_mode=socket_mode, embedded_store=embedded_store)
    policy = None
    if settings.chatops_config is not None:
        try:
            policy = load_policy(settings.chatops_config)
        except ConfigError as err:
            problems += msg.policy_problems(settings.chatops_config, err.problems)
    return policy, problems


def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    socket_mode = settings.slack_app_token is not None and not args.http
    policy, problems = preflight(settings, socket_mode=socket_mode, embedded_store=args.embedded_store)
    if problems or policy is None:
        print(msg.cannot_start(problems), file=sys.stderr)
        return EXIT_SETTINGS
    try:
        user, team = bot_identity(Settings.reveal(settings.slack_bot_token), settings.slack_api_url)
    except BackendError as err:
        print(msg.cannot_start([str(err)]) if isinstance(err, PermanentBackendError) else str(err), file=sys.stderr)
        return EXIT_SETTINGS if isinstance(err, PermanentBackendError) else EXIT_UNAVAILABLE
    log.info(msg.token_ok(user, team))
    from bot.app import Bot, socket_mode_handler  # bolt and the adapters load once the settings are good

    # Before anything starts: a SIGTERM that comes while the bot is starting must stop it gracefully too
    done, reload_asked, wake = threading.Event(), threading.Event(), threading.Event()

    def stop_asked(*_: object) -> None:
        done.set()
        wake.set()

    def hangup(*_: object) -> None:  # SIGHUP: read the policy file again (validated first)
        reload_asked.set()
        wake.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop_asked)
    signal.signal(signal.SIGHUP, hangup)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1`: every thread's stack to stderr
    try:
        bot = Bot.create(settings, policy, port=args.port, http_mode=not socket_mode)
    except ConfigError as err:
        print(msg.cannot_start(err.problems), file=sys.stderr)
        return EXIT_SETTINGS
    except BackendError as err:
        print(msg.cannot_start([str(err)]), file=sys.stderr)
        return EXIT_SETTINGS if isinstance(err, PermanentBackendError) else EXIT_UNAVAILABLE
    if settings.redis_url is None:
        log.warning("the embedded store is in use (--embedded-store): one process only; its queue dies with it")
    bot.start()
    handler = socket_mode_handler(bot, Settings.reveal(settings.slack_app_token)) if socket_mode else None
    log.info("chatops running (%s mode, port %d)", "socket" if socket_mode else "http", bot.http.port)
    while not done.is_set():
        wake.wait()
        wake.clear()
        if reload_asked.is_set() and not done.is_set():
            reload_asked.clear()
            bot.reload()
    log.info("stopping: no new requests; finishing those in flight")
    if handler is not None:
        handler.close()
    bot.stop()
    log.info("stopped")
    return 0
