"""The `/gpu` slash-command grammar → Action, and back (``to_command``).

Every error is a ``ParseError(why, fix)`` whose ``fix`` is the whole corrected command line when one
can be derived, so the user can copy it as it is.
"""

from __future__ import annotations

import difflib
import html
import re
import shlex
from dataclasses import dataclass

from bot.domain import messages as msg
from bot.domain.actions import (
    JOB_STATES,
    SCOPES,
    Action,
    Clarify,
    Gpus,
    Help,
    JobState,
    Launch,
    ListJobs,
    Logs,
    Queue,
    Scope,
    Status,
    Stop,
    Usage,
)
from bot.domain.durations import format_duration
from bot.domain.errors import ParseError
from bot.domain.language.values import STATE_WORDS, clean_slack_text, strip_mentions, word_to_int
from bot.domain.names import job_name_problem, suggest_job_name

SUBCOMMANDS: tuple[str, ...] = ("launch", "status", "list", "logs", "stop", "queue", "gpus", "usage", "help")

# flag → True when it takes a value
FLAGS: dict[str, dict[str, bool]] = {
    "launch": {
        "--template": True, "--image": True, "--gpus": True, "--gpu-type": True, "--nodes": True,
        "--time": True, "--priority": True, "--env": True, "--memory": True, "--cpus": True,
    },
    "status": {},
    "list": {"--mine": False, "--team": False, "--all": False, "--state": True},
    "logs": {"--tail": True},
    "stop": {"--mine": False, "--team": False, "--all": False, "--state": True},
    "queue": {},
    "gpus": {},
    "usage": {},
    "help": {},
}  # fmt: skip

# Common slips whose intended flag difflib would not find (short forms, synonyms).
_ALIASES: dict[str, str] = {
    "-g": "--gpus", "-n": "--nodes", "-t": "--time", "-i": "--image", "-e": "--env", "-p": "--priority",
    "--type": "--gpu-type", "--gpu_type": "--gpu-type", "--gputype": "--gpu-type", "--timeout": "--time",
    "--time-limit": "--time", "--duration": "--time", "--walltime": "--time", "--prio": "--priority",
    "--img": "--image", "--container": "--image", "--lines": "--tail", "-s": "--state", "--status": "--state",
    "--environment": "--env", "--mem": "--memory", "--cpu": "--cpus", "--cores": "--cpus",
}  # fmt: skip

_EXAMPLES = {
    "--template": "llama-finetune", "--image": "ghcr.io/acme/train:1.4", "--gpus": "8", "--gpu-type": "h100",
    "--nodes": "2", "--time": "6h", "--priority": "high", "--env": "WANDB_PROJECT=demo", "--state": "running",
    "--tail": "200", "--memory": "256Gi", "--cpus": "32",
}  # fmt: skip


@dataclass
class _Opt:
    flag: str
    value: str  # "" for switches
    start: int  # token span [start, end) in the argument list
    end: int


@dataclass
class _Scan:
    sub: str
    args: list[str]  # the tokens after the subcommand
    positionals: list[tuple[int, str]]
    opts: list[_Opt]
    command: list[str] | None

    def fix(
        self,
        edits: dict[int, list[str]] | None = None,
        span: tuple[int, int] | None = None,
        new: list[str] | None = None,
    ) -> str:
        """The command line with token ``i`` replaced by ``edits[i]`` (or a span replaced by ``new``)."""
        edits = dict(edits or {})
        if span is not None:
            edits[span[0]] = new or []
            for i in range(span[0] + 1, span[1]):
                edits[i] = []
        out: list[str] = [self.sub]
        for i, tok in enumerate(self.args):
            out.extend(edits.get(i, [tok]))
        return "/gpu " + html.escape(shlex.join(out), quote=False)  # as Slack sends it, see to_command

    def opt_fix(self, opt: _Opt, value: str) -> str:
        return self.fix(span=(opt.start, opt.end), new=[opt.flag, value])


def tokenize(text: str, *, cleaned: bool = False) -> list[str]:
    # Clean once only: cleaning twice would read an unescaped "<...>" as Slack markup.
    s = text if cleaned else strip_mentions(clean_slack_text(text))
    try:
        return shlex.split(s)
    except ValueError as e:
        raise ParseError(msg.parse_bad_quoting(str(e)), None) from None


def parse_command(text: str, *, cleaned: bool = False) -> Action:
    """Parse ``[/gpu] SUBCOMMAND ARGS...``. Raises ``ParseError`` for anything off-grammar."""
    toks = tokenize(text, cleaned=cleaned)
    if toks and toks[0] == "/gpu":
        toks = toks[1:]
    if not toks:
        return Help()
    sub = toks[0].lower()
    if sub not in SUBCOMMANDS:
        raise ParseError(msg.parse_unknown_subcommand(sub, SUBCOMMANDS), "/gpu help")
    scan = _scan(sub, toks[1:])
    if sub == "launch":
        from bot.domain.language.slash_launch import build_launch  # launch has its own module: many fields

        return build_launch(scan)
    return _BUILDERS[sub](scan)


parse = parse_command


def closest_flag(flag: str, known: list[str]) -> str | None:
    if flag in _ALIASES and _ALIASES[flag] in known:
        return _ALIASES[flag]
    hits = difflib.get_close_matches(flag, known, n=1, cutoff=0.6)
    return hits[0] if hits else None


def _scan(sub: str, args: list[str]) -> _Scan:
    flags = FLAGS[sub]
    scan = _Scan(sub, args, [], [], None)
    i = 0
    while i < len(args):
        tok = args[i]
        if tok == "--" and sub == "launch":
            scan.command = args[i + 1 :] or None
            break
        if tok.startswith("-") and len(tok) > 1 and not re.fullmatch(r"-\d+", tok):
            name, eq, val = tok.partition("=")
            if name not in flags:
                known = list(flags)
                best = closest_flag(name, known)
                fix = scan.fix({i: [best + eq + val]}) if best else None
                raise ParseError(msg.parse_unknown_flag(name, sub, known, best), fix)
            if not flags[name]:
                if eq:
                    raise ParseError(msg.parse_no_args(f"{sub} {name}", val), scan.fix({i: [name]}))
                scan.opts.append(_Opt(name, "", i, i + 1))
                i += 1
                continue
            if eq:
                value, end = val, i + 1
            elif i + 1 < len(args) and not args[i + 1].startswith("--"):
                value, end = args[i + 1], i + 2
            else:
                value, end = "", i + 1
            if not value.strip():
                raise ParseError(msg.parse_missing_value(name, _EXAMPLES.get(name, "VALUE")), None)
            scan.opts.append(_Opt(name, value, i, end))
            i = end
            continue
        scan.positionals.append((i, tok))
        i += 1
    return scan


def check_name(scan: _Scan, index: int, name: str) -> str:
    problem = job_name_problem(name)
    if problem:
        raise ParseError(msg.parse_bad_name(problem), scan.fix({index: [suggest_job_name(name)]}))
    return name


def positive_int(scan: _Scan, opt: _Opt) -> int:
    raw = opt.value.strip()
    if not re.fullmatch(r"[+-]?\d+", raw):
        n = word_to_int(raw)
        fix = scan.opt_fix(opt, str(n)) if n is not None and n > 0 else None
        raise ParseError(msg.parse_not_whole_number(opt.flag, raw), fix)
    value = int(raw)
    if value <= 0:
        fixed = -value if value < 0 else (50 if opt.flag == "--tail" else 1)
        raise ParseError(msg.parse_not_positive(opt.flag, value), scan.opt_fix(opt, str(fixed)))
    return value


def last_opts(scan: _Scan, repeatable: tuple[str, ...] = ()) -> dict[str, _Opt]:
    """Options by flag; a flag given twice is an error (which one was meant is not ours to guess)."""
    seen: dict[str, _Opt] = {}
    for opt in scan.opts:
        if opt.flag in seen and opt.flag not in repeatable:
            first = seen[opt.flag]
            raise ParseError(
                msg.parse_conflicting(
                    f"{first.flag} {first.value}".strip(), f"{opt.flag} {opt.value}".strip()
                ),
                scan.fix(span=(first.start, first.end), new=[]),
            )
        seen[opt.flag] = opt
    return seen


def choice_state(scan: _Scan, opt: _Opt) -> JobState:
    raw = opt.value.strip().lower()
    if raw in JOB_STATES:
        return STATE_WORDS[raw]
    close = difflib.get_close_matches(raw, JOB_STATES, 1, 0.6)
    guess: str | None = STATE_WORDS.get(raw) or (close[0] if close else None)
    raise ParseError(
        msg.parse_bad_choice(opt.flag, opt.value, JOB_STATES), scan.opt_fix(opt, guess) if guess else None
    )


def _at_most_one(scan: _Scan) -> tuple[int, str] | None:
    if len(scan.positionals) > 1:
        (_i0, first), (_i1, extra) = scan.positionals[0], scan.positionals[1]
        drop: dict[int, list[str]] = {i: [] for i, _ in scan.positionals[1:]}
        raise ParseError(msg.parse_extra_positional(scan.sub, first, extra), scan.fix(drop))
    return scan.positionals[0] if scan.positionals else None


def _no_positionals(scan: _Scan) -> None:
    if scan.positionals:
        i, extra = scan.positionals[0]
        word = extra.lower()
        edits: dict[int, list[str]] = {j: [] for j, _ in scan.positionals}
        if scan.sub in ("list", "stop") and word in STATE_WORDS:
            edits[i] = ["--state", STATE_WORDS[word]]
        elif scan.sub in ("list", "stop") and word in ("team", "all", "mine"):
            edits[i] = ["--" + word]
        raise ParseError(msg.parse_no_args(scan.sub, extra), scan.fix(edits))


def _scope(scan: _Scan, opts: dict[str, _Opt]) -> Scope | None:
    given = [o for o in scan.opts if o.flag in ("--mine", "--team", "--all")]
    if len(given) > 1:
        raise ParseError(
            msg.parse_conflicting(given[0].flag, given[1].flag), scan.fix({o.start: [] for o in given[1:]})
        )
    if not given:
        return None
    scope = given[0].flag[2:]
    assert scope in SCOPES
    return "mine" if scope == "mine" else "team" if scope == "team" else "all"


def _status(scan: _Scan) -> Action:
    last_opts(scan)
    pos = _at_most_one(scan)
    return Status(job=check_name(scan, *pos) if pos else None)


def _list(scan: _Scan) -> Action:
    _no_positionals(scan)
    opts = last_opts(scan)
    state = choice_state(scan, opts["--state"]) if "--state" in opts else None
    return ListJobs(scope=_scope(scan, opts) or "mine", state=state)


def _logs(scan: _Scan) -> Action:
    opts = last_opts(scan)
    pos = _at_most_one(scan)
    if pos is None:
        raise ParseError(msg.parse_needs_job("logs"), "/gpu list")
    tail = positive_int(scan, opts["--tail"]) if "--tail" in opts else 50
    return Logs(job=check_name(scan, *pos), tail=tail)


def _stop(scan: _Scan) -> Action:
    opts = last_opts(scan)
    jobs = tuple(check_name(scan, i, p) for i, p in scan.positionals)
    scope = _scope(scan, opts)
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


def _plain(scan: _Scan) -> Action:
    _no_positionals(scan)
    return Queue() if scan.sub == "queue" else Gpus()


def _help(scan: _Scan) -> Action:
    pos = _at_most_one(scan)
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


def _usage(scan: _Scan) -> Action:
    pos = _at_most_one(scan)
    if pos is None:
        return Usage()
    window = pos[1].lower()
    if window not in USAGE_WINDOWS:
        raise ParseError(msg.parse_bad_usage_window(pos[1]), scan.fix({pos[0]: ["24h"]}))
    return Usage(window_s=USAGE_WINDOWS[window])


_BUILDERS = {
    "usage": _usage,
    "status": _status,
    "list": _list,
    "logs": _logs,
    "stop": _stop,
    "queue": _plain,
    "gpus": _plain,
    "help": _help,
}


def to_command(action: Action) -> str:
    """The canonical `/gpu` command line for ``action`` (what a user could type to get it)."""
    out: list[str]
    if isinstance(action, Launch):
        from bot.domain.language.slash_launch import launch_args

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
    elif isinstance(action, Help):
        out = ["help", *([action.topic] if action.topic else [])]
    elif isinstance(action, Clarify):
        out = ["help"]
    else:
        out = [action.action]
    # Written as Slack sends text: a literal &, < or > arrives as an entity, so the line parses back
    # to the same action and renders as the plain character in a Slack message.
    return "/gpu " + html.escape(shlex.join(out), quote=False)


__all__ = ["FLAGS", "SUBCOMMANDS", "format_duration", "parse", "parse_command", "to_command", "tokenize"]
