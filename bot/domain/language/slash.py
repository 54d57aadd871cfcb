"""The `/gpu` slash-command grammar → Action, and back (``to_command``).

Every error is a ``ParseError(why, fix)`` whose ``fix`` is the whole corrected command line when one
can be derived, so the user can copy it as it is. Words come from the scanner (``scanner.py``).
"""

from __future__ import annotations

import difflib
import html
import re
import shlex
from functools import lru_cache

from bot.domain import messages as msg
from bot.domain.actions import (
    Action,
    Audit,
    Clarify,
    Gpus,
    Help,
    Launch,
    ListJobs,
    Logs,
    Queue,
    Status,
    Stop,
    Usage,
)
from bot.domain.durations import format_duration
from bot.domain.errors import ParseError, ValidationError
from bot.domain.language.fuzzy import closest
from bot.domain.language.scanner import scan as scan_text
from bot.domain.language.slash_args import (
    FLAGS,
    SUBCOMMANDS,
    ArgScan,
    at_most_one,
    check_name,
    choice_state,
    last_opts,
    no_positionals,
    positive_int,
    scan_args,
    scope_of,
)
from bot.domain.language.slash_jobs import BUILDERS as JOB_BUILDERS
from bot.domain.language.slash_jobs import command_words
from bot.domain.language.slash_launch import build_launch, launch_args
from bot.domain.language.slash_repair import checked_fix


def tokenize(text: str) -> list[str]:
    """The shell words of a `/gpu` line (Slack markup undone by the scanner; the one flag whose value is a
    person, ``--user``, keeps a mention as its user ID, where the scanner would drop it)."""
    return scan_text(user_flag_ids(text)).shell_words()


_USER_FLAG_MENTION = re.compile(r"(--user(?:=|\s+))<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def user_flag_ids(text: str) -> str:
    """``--user <@U123|ann>`` → ``--user U123``: the value of the flag that names a person."""
    return _USER_FLAG_MENTION.sub(r"\1\2", text)


@lru_cache(maxsize=4096)
def typo_of(word: str) -> str | None:
    """The subcommand ``word`` is a slip of ("laucnh" → "launch"), if exactly one is close."""
    return closest(word, SUBCOMMANDS, 2 if len(word) >= 3 else 1)


def parse_words(toks: list[str]) -> Action:
    """``[/gpu] SUBCOMMAND ARGS...`` as words. Raises ``ParseError`` for anything off-grammar, with a
    fix that parses whenever one edit of a flag makes the line right."""
    try:
        return _parse_words(toks)
    except (ParseError, ValidationError) as err:
        if err.fix is None or isinstance(err.fix, str):
            err.fix = checked_fix(err.fix, toks, _parse_words, tokenize)
        raise


def _parse_words(toks: list[str]) -> Action:
    if toks and toks[0].lower() == "/gpu":
        toks = toks[1:]
    if not toks:
        return Help()
    sub = toks[0].lower()
    if sub not in SUBCOMMANDS:
        meant = typo_of(sub)
        if meant is None:
            raise ParseError(msg.parse_unknown_subcommand(sub, SUBCOMMANDS), "/gpu help")
        # Every other word kept: the fix is the line they typed, with the verb spelled right.
        fixed = "/gpu " + html.escape(shlex.join([meant, *toks[1:]]), quote=False)
        raise ParseError(msg.parse_subcommand_typo(sub, meant), fixed)
    scan = scan_args(sub, toks[1:])
    if sub == "launch":
        return build_launch(scan)
    return _BUILDERS[sub](scan)


def parse_command(text: str) -> Action:
    """Parse ``[/gpu] SUBCOMMAND ARGS...`` from Slack text. Raises ``ParseError`` for anything off-grammar."""
    return parse_words(tokenize(text))


parse = parse_command


def _status(scan: ArgScan) -> Action:
    last_opts(scan)
    pos = at_most_one(scan)
    return Status(job=check_name(scan, *pos) if pos else None)


def _list(scan: ArgScan) -> Action:
    no_positionals(scan)
    opts = last_opts(scan)
    state = choice_state(scan, opts["--state"]) if "--state" in opts else None
    return ListJobs(scope=scope_of(scan, opts) or "mine", state=state)


def _logs(scan: ArgScan) -> Action:
    opts = last_opts(scan)
    pos = at_most_one(scan)
    if pos is None:
        raise ParseError(msg.parse_needs_job("logs"), "/gpu list")
    tail = positive_int(scan, opts["--tail"]) if "--tail" in opts else 50
    return Logs(job=check_name(scan, *pos), tail=tail)


def _stop(scan: ArgScan) -> Action:
    opts = last_opts(scan)
    jobs = tuple(check_name(scan, i, p) for i, p in scan.positionals)
    scope = scope_of(scan, opts)
    state = choice_state(scan, opts["--state"]) if "--state" in opts else None
    if jobs and (scope or state):
        extra = [o for o in scan.opts]
        raise ParseError(
            msg.parse_conflicting(jobs[0], extra[0].flag),
            scan.fix(span=(extra[0].start, extra[0].end), new=[]) if len(extra) == 1 else None,
        )
    if not jobs and scope is None and state is None:
        raise ParseError(msg.parse_stop_needs_target(), "/gpu list")
    if not jobs and scope is None:
        scope = "mine"  # a bare --state selects among the asker's own jobs
    return Stop(jobs=jobs, scope=scope, state=state)


def _plain(scan: ArgScan) -> Action:
    no_positionals(scan)
    return Queue() if scan.sub == "queue" else Gpus()


def _help(scan: ArgScan) -> Action:
    pos = at_most_one(scan)
    if pos is None:
        return Help()
    topic = pos[1].lower()
    if topic not in SUBCOMMANDS:
        best = difflib.get_close_matches(topic, SUBCOMMANDS, 1, 0.5)
        raise ParseError(
            msg.parse_unknown_help_topic(pos[1], SUBCOMMANDS), f"/gpu help {best[0]}" if best else "/gpu help"
        )
    return Help(topic=topic)


USAGE_WINDOWS: dict[str, int] = {"6h": 6 * 3600, "24h": 24 * 3600, "1d": 24 * 3600, "7d": 7 * 86400}


def _usage(scan: ArgScan) -> Action:
    pos = at_most_one(scan)
    if pos is None:
        return Usage()
    window = pos[1].lower()
    if window not in USAGE_WINDOWS:
        raise ParseError(msg.parse_bad_usage_window(pos[1]), scan.fix({pos[0]: ["24h"]}))
    return Usage(window_s=USAGE_WINDOWS[window])


_SLACK_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|([UW][A-Z0-9]{2,})")


def _audit(scan: ArgScan) -> Action:
    no_positionals(scan)
    opts = last_opts(scan)
    days = positive_int(scan, opts["--days"]) if "--days" in opts else 7
    user = None
    if "--user" in opts:
        found = _SLACK_USER.fullmatch(opts["--user"].value.strip())
        if found is None:
            raise ParseError(msg.parse_bad_audit_user(opts["--user"].value), scan.opt_fix(opts["--user"], "U0123ABC"))
        user = found.group(1) or found.group(2)
    return Audit(days=days, user=user)


_BUILDERS = {
    "audit": _audit,
    "usage": _usage,
    "status": _status,
    "list": _list,
    "logs": _logs,
    "stop": _stop,
    "queue": _plain,
    "gpus": _plain,
    "help": _help,
    **JOB_BUILDERS,
}


def to_command(action: Action) -> str:
    """The canonical `/gpu` command line for ``action`` (what a user could type to get it)."""
    out: list[str]
    if isinstance(action, Launch):
        out = ["launch", *launch_args(action)]
    elif isinstance(action, Status):
        out = ["status", *([action.job] if action.job else [])]
    elif isinstance(action, ListJobs):
        out = ["list", *({"mine": [], "team": ["--team"], "all": ["--all"]}[action.scope])]
        out += ["--state", action.state] if action.state else []
    elif isinstance(action, Logs):
        out = ["logs", *([action.job] if action.job else [])]
        out += ["--tail", str(action.tail)] if action.tail != 50 else []
    elif isinstance(action, Stop):
        out = ["stop", *action.jobs]
        if not action.jobs:
            out.append("--" + (action.scope or "mine"))
        out += ["--state", action.state] if action.state else []
    elif isinstance(action, Usage):
        out = ["usage", format_duration(action.window_s)]
    elif isinstance(action, Audit):
        out = ["audit", *(["--days", str(action.days)] if action.days != 7 else [])]
        out += ["--user", action.user] if action.user else []
    elif isinstance(action, Help):
        out = ["help", *([action.topic] if action.topic else [])]
    elif isinstance(action, Clarify):
        out = ["help"]
    elif (words := command_words(action)) is not None:
        out = words
    else:
        out = [action.action]
    # Written as Slack sends text: a literal &, < or > arrives as an entity, so the line parses back
    # to the same action and renders as the plain character in a Slack message.
    return "/gpu " + html.escape(shlex.join(out), quote=False)


def command_for(fix: Action | str | None) -> str | None:
    """A refusal's fix as the `/gpu` command to show: an action is rendered here, once."""
    return fix if fix is None or isinstance(fix, str) else to_command(fix)


__all__ = ["FLAGS", "SUBCOMMANDS", "command_for", "format_duration", "parse", "parse_command", "to_command", "tokenize"]
