"""The `/gpu` argument scan: flags and their values with token spans, and the checks both the
launch builder and the other subcommands use. Every error is a ``ParseError(why, fix)`` whose
``fix`` is the whole corrected command line, edited where the user typed it.
"""

from __future__ import annotations

import difflib
import html
import math
import re
import shlex
from dataclasses import dataclass

from bot.domain import messages as msg
from bot.domain.actions import JOB_STATES, SCOPES, JobState, Scope
from bot.domain.errors import ParseError
from bot.domain.language.values import STATE_WORDS, word_to_int
from bot.domain.names import job_name_problem, suggest_job_name

SUBCOMMANDS: tuple[str, ...] = (
    "launch", "status", "list", "logs", "stop", "queue", "gpus", "usage",
    "audit", "extend", "hold", "release", "requeue", "history", "report", "help",
)  # fmt: skip

# flag → True when it takes a value
FLAGS: dict[str, dict[str, bool]] = {
    "launch": {
        "--template": True, "--image": True, "--gpus": True, "--gpu-type": True, "--nodes": True,
        "--time": True, "--priority": True, "--env": True, "--memory": True, "--cpus": True, "--after": True,
        "--cluster": True,
    },
    "status": {},
    "list": {"--mine": False, "--team": False, "--all": False, "--state": True},
    "logs": {"--tail": True},
    "stop": {"--mine": False, "--team": False, "--all": False, "--state": True},
    "queue": {},
    "gpus": {},
    "usage": {},
    "audit": {"--days": True, "--user": True},
    "extend": {},
    "hold": {},
    "release": {},
    "requeue": {},
    "history": {"--mine": False, "--team": False, "--all": False, "--state": True, "--days": True},
    "report": {"--since": True, "--by": True},
    "help": {},
}  # fmt: skip

# Common slips whose intended flag difflib would not find (short forms, synonyms).
_ALIASES: dict[str, str] = {
    "-g": "--gpus", "-n": "--nodes", "-t": "--time", "-i": "--image", "-e": "--env", "-p": "--priority",
    "--type": "--gpu-type", "--gpu_type": "--gpu-type", "--gputype": "--gpu-type", "--timeout": "--time",
    "--time-limit": "--time", "--duration": "--time", "--walltime": "--time", "--prio": "--priority",
    "--img": "--image", "--container": "--image", "--lines": "--tail", "-s": "--state", "--status": "--state",
    "--environment": "--env", "--mem": "--memory", "--cpu": "--cpus", "--cores": "--cpus",
    "--dependency": "--after", "-d": "--after", "--group-by": "--by",
}  # fmt: skip

EXAMPLES = {
    "--template": "llama-finetune", "--image": "ghcr.io/acme/train:1.4", "--gpus": "8", "--gpu-type": "h100",
    "--nodes": "2", "--time": "6h", "--priority": "high", "--env": "WANDB_PROJECT=demo", "--state": "running",
    "--tail": "200", "--memory": "256Gi", "--cpus": "32", "--days": "7", "--user": "U0123ABC",
    "--after": "pretrain-7", "--cluster": "onprem", "--since": "30d", "--by": "team",
}  # fmt: skip


@dataclass
class Opt:
    flag: str
    value: str  # "" for switches
    start: int  # token span [start, end) in the argument list
    end: int


@dataclass
class ArgScan:
    sub: str
    args: list[str]  # the tokens after the subcommand
    positionals: list[tuple[int, str]]
    opts: list[Opt]
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

    def opt_fix(self, opt: Opt, value: str) -> str:
        return self.fix(span=(opt.start, opt.end), new=[opt.flag, value])


def closest_flag(flag: str, known: list[str]) -> str | None:
    if flag in _ALIASES and _ALIASES[flag] in known:
        return _ALIASES[flag]
    hits = difflib.get_close_matches(flag, known, n=1, cutoff=0.6)
    return hits[0] if hits else None


def scan_args(sub: str, args: list[str]) -> ArgScan:
    flags = FLAGS[sub]
    scan = ArgScan(sub, args, [], [], None)
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
                scan.opts.append(Opt(name, "", i, i + 1))
                i += 1
                continue
            if eq:
                value, end = val, i + 1
            elif i + 1 < len(args) and not args[i + 1].startswith("--"):
                value, end = args[i + 1], i + 2
            else:
                value, end = "", i + 1
            if not value.strip():
                raise ParseError(msg.parse_missing_value(name, EXAMPLES.get(name, "VALUE")), None)
            scan.opts.append(Opt(name, value, i, end))
            i = end
            continue
        scan.positionals.append((i, tok))
        i += 1
    return scan


def check_name(scan: ArgScan, index: int, name: str) -> str:
    problem = job_name_problem(name)
    if problem:
        raise ParseError(msg.parse_bad_name(problem), scan.fix({index: [suggest_job_name(name)]}))
    return name


def positive_int(scan: ArgScan, opt: Opt) -> int:
    raw = opt.value.strip()
    if not re.fullmatch(r"[+-]?\d+", raw):
        n = word_to_int(raw)
        if n is None and re.fullmatch(r"\d*\.\d+", raw):
            n = max(1, math.ceil(float(raw)))  # 2.5 GPUs: at least what was asked, whole
        fix = scan.opt_fix(opt, str(n)) if n is not None and n > 0 else None
        raise ParseError(msg.parse_not_whole_number(opt.flag, raw), fix)
    value = int(raw)
    if value <= 0:
        fixed = -value if value < 0 else (50 if opt.flag == "--tail" else 1)
        raise ParseError(msg.parse_not_positive(opt.flag, value), scan.opt_fix(opt, str(fixed)))
    return value


def last_opts(scan: ArgScan, repeatable: tuple[str, ...] = ()) -> dict[str, Opt]:
    """Options by flag; a flag given twice is an error (which one was meant is not ours to guess)."""
    seen: dict[str, Opt] = {}
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


def choice_state(scan: ArgScan, opt: Opt) -> JobState:
    raw = opt.value.strip().lower()
    if raw in JOB_STATES:
        return STATE_WORDS[raw]
    close = difflib.get_close_matches(raw, JOB_STATES, 1, 0.6)
    guess: str | None = STATE_WORDS.get(raw) or (close[0] if close else None)
    raise ParseError(
        msg.parse_bad_choice(opt.flag, opt.value, JOB_STATES), scan.opt_fix(opt, guess) if guess else None
    )


def at_most_one(scan: ArgScan) -> tuple[int, str] | None:
    if len(scan.positionals) > 1:
        (_i0, first), (_i1, extra) = scan.positionals[0], scan.positionals[1]
        drop: dict[int, list[str]] = {i: [] for i, _ in scan.positionals[1:]}
        raise ParseError(msg.parse_extra_positional(scan.sub, first, extra), scan.fix(drop))
    return scan.positionals[0] if scan.positionals else None


def no_positionals(scan: ArgScan) -> None:
    if scan.positionals:
        i, extra = scan.positionals[0]
        word = extra.lower()
        edits: dict[int, list[str]] = {j: [] for j, _ in scan.positionals}
        if scan.sub in ("list", "stop") and word in STATE_WORDS:
            edits[i] = ["--state", STATE_WORDS[word]]
        elif scan.sub in ("list", "stop") and word in ("team", "all", "mine"):
            edits[i] = ["--" + word]
        raise ParseError(msg.parse_no_args(scan.sub, extra), scan.fix(edits))


def scope_of(scan: ArgScan, opts: dict[str, Opt]) -> Scope | None:
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


