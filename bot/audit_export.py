"""``chatops audit export [--since 30d]``: the audit trail as JSON lines on stdout, oldest first.

Reads ``REDIS_URL`` and ``CHATOPS_CONFIG`` (for ``redis_prefix``) like ``chatops run``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bot.domain import messages as msg
from bot.domain.durations import parse_duration
from bot.domain.errors import BackendError, ConfigError
from bot.domain.policy.config import load_policy
from bot.settings import Settings

EXIT_USAGE = 2
EXIT_UNAVAILABLE = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="audit_command", required=True)
    export = sub.add_parser("export", help="the audit trail as JSON lines (one entry a line, oldest first)",
                            description="Print the audit trail as JSON lines: time, user, team, action, target, "
                            "result, request_id. Reads REDIS_URL and CHATOPS_CONFIG like `chatops run`.")
    export.add_argument("--since", default="30d", help="how far back (e.g. 30d, 12h; default 30d)")


def run(args: argparse.Namespace) -> int:
    try:
        since_s = parse_duration(args.since)
    except ValueError as err:
        print(msg.audit_export_bad_since(args.since, str(err)), file=sys.stderr)
        return EXIT_USAGE
    settings = Settings.from_env()
    problems = []
    if settings.redis_url is None:
        problems.append("REDIS_URL: not set; the audit trail lives in the bot's Redis (redis://host:6379/0)")
    if settings.chatops_config is None:
        problems.append("CHATOPS_CONFIG: not set; the policy file says the Redis key prefix")
    if problems:
        print(msg.audit_export_cannot_run(problems), file=sys.stderr)
        return EXIT_USAGE
    assert settings.chatops_config is not None
    try:
        policy = load_policy(settings.chatops_config)
    except ConfigError as err:
        print(msg.audit_export_cannot_run(msg.policy_problems(settings.chatops_config, err.problems)), file=sys.stderr)
        return EXIT_USAGE
    from bot.adapters.redis.stores import RedisStores  # redis loads once the settings are good

    stores = RedisStores.connect(Settings.reveal(settings.redis_url), policy.redis_prefix)
    try:
        for entry in stores.audit.since(time.time() - since_s):
            sys.stdout.write(json.dumps(entry.to_dict(), ensure_ascii=False) + "\n")
    except BackendError as err:
        print(str(err), file=sys.stderr)
        return EXIT_UNAVAILABLE
    sys.stdout.flush()
    return 0
