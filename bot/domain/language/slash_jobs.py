"""`/gpu extend | hold | release | requeue | history | report` and `launch --after`: words → action, and back.

Every error is a ``ParseError(why, fix)`` with the whole corrected command line where one follows.
"""

from __future__ import annotations

import difflib
import re

from bot.domain import messages as msg
from bot.domain.actions import (
    AFTER_CONDITIONS,
    REPORT_BY,
    Action,
    After,
    AfterCondition,
    Extend,
    History,
    Hold,
    Release,
    Report,
    ReportBy,
    Requeue,
)
from bot.domain.durations import format_duration, parse_duration
from bot.domain.errors import ParseError
from bot.domain.language.slash_args import (
    ArgScan,
    Opt,
    check_name,
    choice_state,
    last_opts,
    scope_of,
)
from bot.domain.language.values import loose_duration
from bot.domain.names import job_name_problem, suggest_job_name

_BY_WORDS: dict[str, ReportBy] = {"user": "user", "users": "user", "team": "team", "teams": "team",
                                  "gpu-type": "gpu_type", "gpu_type": "gpu_type", "gpu": "gpu_type",
                                  "type": "gpu_type", "gputype": "gpu_type"}  # fmt: skip


def _extend(scan: ArgScan) -> Action:
    pos = scan.positionals
    if len(pos) != 2:
        # the job alone: suggest two hours more; anything else: the usage
        fix = scan.fix({pos[0][0]: [pos[0][1], "2h"]}) if len(pos) == 1 and not job_name_problem(pos[0][1]) \
            else None
        raise ParseError(msg.parse_extend_usage(), fix or "/gpu help extend")
    (ji, job), (di, raw) = pos
    if _duration_or_none(job) and not _duration_or_none(raw) and job_name_problem(raw) is None:
        raise ParseError(msg.parse_extend_usage(), scan.fix({ji: [raw], di: [job]}))  # the two swapped
    check_name(scan, ji, job)
    try:
        by_s = parse_duration(raw)
    except ValueError as err:
        loose = loose_duration(raw)
        guess = format_duration(loose) if loose else (raw + "h" if raw.isdigit() and int(raw) > 0 else "2h")
        raise ParseError(msg.parse_extend_bad_duration(raw, str(err)), scan.fix({di: [guess]})) from None
    return Extend(job=job, by_s=by_s)


def _duration_or_none(text: str) -> int | None:
    try:
        return parse_duration(text)
    except ValueError:
        return None


def _names(scan: ArgScan) -> tuple[str, ...]:
    last_opts(scan)
    if not scan.positionals:
        raise ParseError(msg.parse_needs_jobs(scan.sub), "/gpu list")
    return tuple(check_name(scan, i, p) for i, p in scan.positionals)


def _hold(scan: ArgScan) -> Action:
    return Hold(jobs=_names(scan))


def _release(scan: ArgScan) -> Action:
    return Release(jobs=_names(scan))


def _requeue(scan: ArgScan) -> Action:
    return Requeue(jobs=_names(scan))


def _days(scan: ArgScan, opt: Opt) -> int:
    raw = opt.value.strip().lower().removesuffix("d")
    if not raw.isdigit() or int(raw) <= 0:
        digits = re.sub(r"\D", "", raw)
        raise ParseError(msg.parse_bad_days(opt.value), scan.opt_fix(opt, digits if digits.strip("0") else "7"))
    return int(raw)


def _history(scan: ArgScan) -> Action:
    if scan.positionals:
        _i, extra = scan.positionals[0]
        raise ParseError(msg.parse_no_args("history", extra), scan.fix({j: [] for j, _ in scan.positionals}))
    opts = last_opts(scan)
    state = choice_state(scan, opts["--state"]) if "--state" in opts else None
    days = _days(scan, opts["--days"]) if "--days" in opts else 7
    return History(scope=scope_of(scan, opts) or "mine", state=state, days=days)


def _report(scan: ArgScan) -> Action:
    if scan.positionals:
        _i, extra = scan.positionals[0]
        raise ParseError(msg.parse_no_args("report", extra), scan.fix({j: [] for j, _ in scan.positionals}))
    opts = last_opts(scan)
    by: ReportBy = "team"
    if "--by" in opts:
        opt = opts["--by"]
        word = opt.value.strip().lower()
        if word not in _BY_WORDS:
            close = difflib.get_close_matches(word, list(_BY_WORDS), 1, 0.5)
            shown = tuple(b.replace("_", "-") for b in REPORT_BY)
            fix = scan.opt_fix(opt, _BY_WORDS[close[0]].replace("_", "-")) if close else None
            raise ParseError(msg.parse_bad_choice("--by", opt.value, shown), fix)
        by = _BY_WORDS[word]
    since_s = 30 * 86400
    if "--since" in opts:
        opt = opts["--since"]
        raw = opt.value.strip()
        try:
            since_s = parse_duration(raw)
        except ValueError as err:
            loose = loose_duration(raw)
            guess = format_duration(loose) if loose else (raw + "d" if raw.isdigit() and int(raw) > 0 else "30d")
            raise ParseError(msg.parse_bad_since(raw, str(err)), scan.opt_fix(opt, guess)) from None
    return Report(by=by, since_s=since_s)


def parse_after(scan: ArgScan, opt: Opt) -> tuple[After, ...]:
    """``--after a,b:any`` (Slurm lists dependencies with commas) → the launch's dependencies."""
    out: list[After] = []
    for part in (p.strip() for p in opt.value.split(",")):
        job, _, cond = part.partition(":")
        cond = cond.strip().lower() or "ok"
        cond = {"afterok": "ok", "afterany": "any", "afternotok": "notok"}.get(cond, cond)
        if job_name_problem(job):
            fixed = opt.value.replace(job, suggest_job_name(job)) if job else None
            raise ParseError(msg.parse_bad_after(opt.value, job_name_problem(job) or ""),
                             scan.opt_fix(opt, fixed) if fixed else None)
        if cond not in AFTER_CONDITIONS:
            close = difflib.get_close_matches(cond, AFTER_CONDITIONS, 1, 0.4)
            why = f"`{cond}` is not one of {', '.join(AFTER_CONDITIONS)}"
            raise ParseError(msg.parse_bad_after(opt.value, why),
                             scan.opt_fix(opt, f"{job}:{close[0]}" if close else job))
        condition: AfterCondition = "ok" if cond == "ok" else "any" if cond == "any" else "notok"
        if all(a.job != job for a in out):
            out.append(After(job=job, condition=condition))
    return tuple(out)


def after_args(after: tuple[After, ...]) -> list[str]:
    if not after:
        return []
    return ["--after", ",".join(a.job if a.condition == "ok" else f"{a.job}:{a.condition}" for a in after)]


BUILDERS = {"extend": _extend, "hold": _hold, "release": _release, "requeue": _requeue,
            "history": _history, "report": _report}  # fmt: skip


def command_words(action: Action) -> list[str] | None:
    """The words after `/gpu` for the actions of this module, or None for any other action."""
    if isinstance(action, Extend):
        return ["extend", action.job, format_duration(action.by_s)]
    if isinstance(action, Hold | Release | Requeue):
        return [action.action, *action.jobs]
    if isinstance(action, History):
        out = ["history", *({"mine": [], "team": ["--team"], "all": ["--all"]}[action.scope])]
        out += ["--state", action.state] if action.state else []
        return out + (["--days", str(action.days)] if action.days != 7 else [])
    if isinstance(action, Report):
        out = ["report"]
        out += ["--since", format_duration(action.since_s)] if action.since_s != 30 * 86400 else []
        return out + (["--by", action.by.replace("_", "-")] if action.by != "team" else [])
    return None


__all__ = ["BUILDERS", "after_args", "command_words", "parse_after"]
