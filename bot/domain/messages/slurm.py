"""What the bot says for the verbs Slurm users reach for: extend, hold, release, requeue, --after,
history and report."""

from __future__ import annotations

from bot.domain.durations import format_duration, humanize

SLURM_HELP_TOPICS: dict[str, str] = {
    "extend": (
        "*`/gpu extend JOB DURATION`*\nAdd time to a running or queued job, up to the policy's longest "
        "time limit; the estimated starts of the jobs behind it move.\n• `/gpu extend llama-ft 4h`"
    ),
    "hold": (
        "*`/gpu hold JOB...`*\nKeep queued jobs from starting; they keep their place in the queue until "
        "`/gpu release`. Admins may hold anyone's.\n• `/gpu hold sweep-3 sweep-4`"
    ),
    "release": "*`/gpu release JOB...`*\nLet held jobs start again, from their old place.\n• `/gpu release sweep-3`",
    "requeue": (
        "*`/gpu requeue JOB...`*\nStop a running job (it gets the grace period to checkpoint, as a "
        "preemption does) and put it back in the queue at its old place.\n• `/gpu requeue llama-ft`"
    ),
    "history": (
        "*`/gpu history [--days N] [--team|--all] [--state succeeded|failed|stopped]`*\nFinished jobs "
        "(like `sacct`): start, end, wall time, GPU-hours, how each ended. 7 days by default.\n"
        "• `/gpu history --days 30 --team`"
    ),
    "report": (
        "*`/gpu report [--since 30d] [--by user|team|gpu-type]`*\nGPU-hours (and cost, when the policy "
        "has `gpu_prices`) over a window, with a CSV file. Admins see every team, others their own.\n"
        "• `/gpu report --since 7d --by user`"
    ),
}

AFTER_HELP = (
    "`--after JOB[:ok|:any|:notok]` waits for another job to end first (`ok`, the default: it must succeed)"
)


# --- parsing ---------------------------------------------------------------------------------------


def parse_extend_usage() -> str:
    return "`/gpu extend` needs a job and how much time to add, e.g. `/gpu extend llama-ft 4h`"


def parse_extend_bad_duration(value: str, reason: str) -> str:
    return f"`{value}` is not an amount of time to add: {reason}"


def parse_needs_jobs(sub: str) -> str:
    return f"`/gpu {sub}` needs one or more job names, e.g. `/gpu {sub} llama-ft`; `/gpu list` shows your jobs"


def parse_bad_after(value: str, why: str) -> str:
    return f"`--after {value}`: {why} (write `--after JOB`, `--after JOB:any` or `--after JOB:notok`)"


def parse_bad_days(value: str) -> str:
    return f"`--days {value}` is not a whole number of days above zero"


def parse_bad_since(value: str, reason: str) -> str:
    return f"`--since {value}`: {reason}"


# --- ownership and states ----------------------------------------------------------------------------


def not_yours_to(verb: str, name: str, owner: str) -> str:
    return f"`{name}` belongs to <@{owner}>; only they or an admin can {verb} it"


def cannot_extend_state(name: str, state: str) -> str:
    return f"`{name}` has already ended ({state}); there is no time limit left to extend"


def extend_beyond_max(name: str, wanted: int, max_s: int, room: int) -> str:
    if room <= 0:
        return (f"`{name}` already has the longest time limit the policy allows ({format_duration(max_s)}); "
                "it cannot be extended")
    return (f"`{name}` would run {format_duration(wanted)} in all, beyond the policy's longest time limit "
            f"({format_duration(max_s)}); at most {format_duration(room)} more")


def extend_needs_admin(name: str, by_s: int, limit_s: int) -> str:
    return (f"extending `{name}` by {format_duration(by_s)} needs an admin: the policy lets owners add at "
            f"most {format_duration(limit_s)} at a time")


def extended(name: str, by_s: int, limit_s: int, running: bool, deadline: float | None) -> str:
    what = f"Extended `{name}` by {humanize(by_s)}: its time limit is now {humanize(limit_s)}"
    if running and deadline is not None:
        return what + f" (it may run until <!date^{int(deadline)}^{{date_short_pretty}} {{time}}|later>)."
    return what + "."


def cannot_hold_state(name: str, state: str) -> str:
    return f"`{name}` is {state}, not queued: only a queued job can be held (`/gpu requeue {name}` puts it back)"


def already_held(name: str) -> str:
    return f"`{name}` is already held; `/gpu release {name}` lets it start"


def held_by_admin(name: str, admin: str) -> str:
    return f"`{name}` was held by <@{admin}>, an admin; only an admin can release it"


def not_held(name: str) -> str:
    return f"`{name}` is not held; nothing to release"


def held(names: list[str]) -> str:
    return "Held " + ", ".join(f"`{n}`" for n in names) + ": it keeps its place and will not start until " \
        f"`/gpu release {' '.join(names)}`."


def released(names: list[str]) -> str:
    return "Released " + ", ".join(f"`{n}`" for n in names) + ": back in the queue at its old place."


def held_reason(by: str) -> str:
    return f"held by <@{by}>; it keeps its place until released"


def parked_state(held: bool) -> str:
    return "Queued, held" if held else "Queued, waiting on dependencies"


def parked_reason(held_by: str | None, waits: list[tuple[str, str]]) -> str:
    """Why a parked job does not start: its hold, and what it waits for."""
    parts = [held_reason(held_by)] if held_by else []
    parts += [waiting_for(job, condition) for job, condition in waits]
    return "; ".join(parts)


def cannot_requeue_state(name: str, state: str) -> str:
    if state == "queued":
        return f"`{name}` is already queued"
    return f"`{name}` has ended ({state}); `/gpu launch` it again instead"


def requeued(names: list[str], grace_s: int) -> str:
    return ("Requeued " + ", ".join(f"`{n}`" for n in names) + f": stopped with {humanize(grace_s)} to "
            "checkpoint, and back in the queue at its old place.")


def requeued_reason(by: str) -> str:
    return f"requeued by <@{by}>; waiting for its turn again"


def nothing_changed() -> str:
    return "Nothing changed."


# --- dependencies ----------------------------------------------------------------------------------------

_CONDITION_WORDS = {"ok": "succeed", "notok": "fail", "any": "end"}


def waiting_for(job: str, condition: str) -> str:
    return f"waiting for `{job}` to {_CONDITION_WORDS.get(condition, 'end')}"


def after_unknown(job: str) -> str:
    return f"`--after {job}`: there is no job `{job}` that you can see"


def after_self(job: str) -> str:
    return f"`--after {job}`: a job cannot wait for itself"


def after_cycle(chain: list[str]) -> str:
    return "`--after`: that would make a cycle (" + " → ".join(f"`{j}`" for j in chain) + ")"


def after_never(job: str, state: str, condition: str) -> str:
    return f"`--after {job}`: `{job}` already {state}, so it can never {_CONDITION_WORDS[condition]}"


def dependency_never(job: str, state: str, condition: str) -> str:
    return (f"cancelled: `{job}` {state}, so it will never {_CONDITION_WORDS[condition]} "
            "(the dependency can no longer be satisfied)")


def dependency_cancelled_dm(name: str, job: str, state: str, condition: str) -> str:
    return (f"Your job `{name}` was cancelled before it started: it waited for `{job}` to "
            f"{_CONDITION_WORDS[condition]}, but `{job}` {state}. Launch it again without `--after` to run it anyway.")


# --- time limit near ----------------------------------------------------------------------------------------


def time_limit_near(name: str, left_s: float) -> str:
    return (f"`{name}` reaches its time limit in {humanize(left_s)}; it will then be stopped. "
            f"`/gpu extend {name} 2h` gives it more time.")


EXTEND_BUTTON = "+2 h"


# --- history and report ------------------------------------------------------------------------------------


def history_title(scope: str, days: int) -> str:
    who = {"mine": "Your", "team": "Your team's", "all": "All"}[scope]
    return f"{who} finished jobs, last {days} d"


def history_empty(days: int) -> str:
    return f"No finished jobs in the last {days} d. `/gpu history --days 30` looks further back."


def report_title(by: str, since_s: int, team: str | None) -> str:
    scope = f"team {team}" if team else "all teams"
    return f"GPU-hours by {by.replace('_', '-')}, last {humanize(since_s)} ({scope})"


def report_empty(since_s: int) -> str:
    return f"No GPU time used in the last {humanize(since_s)}. `/gpu report --since 90d` looks further back."


def report_csv_comment(title: str) -> str:
    return f"{title}: the CSV"


__all__ = [
    "AFTER_HELP",
    "EXTEND_BUTTON",
    "SLURM_HELP_TOPICS",
    "after_cycle",
    "after_never",
    "after_self",
    "after_unknown",
    "already_held",
    "cannot_extend_state",
    "cannot_hold_state",
    "cannot_requeue_state",
    "dependency_cancelled_dm",
    "dependency_never",
    "extend_beyond_max",
    "extend_needs_admin",
    "extend_not_for_kind",
    "extended",
    "held",
    "held_by_admin",
    "held_reason",
    "history_empty",
    "history_title",
    "not_held",
    "not_yours_to",
    "nothing_changed",
    "parked_reason",
    "parked_state",
    "parse_bad_after",
    "parse_bad_days",
    "parse_bad_since",
    "parse_extend_bad_duration",
    "parse_extend_usage",
    "parse_needs_jobs",
    "released",
    "report_csv_comment",
    "report_empty",
    "report_title",
    "requeued",
    "requeued_reason",
    "time_limit_near",
    "waiting_for",
]


def extend_not_for_kind(name: str, kind: str) -> str:
    what = {"jobset": "a JobSet", "trainjob": "a TrainJob"}.get(kind, kind)
    return (f"`{name}` runs as {what}, whose time limit cannot be changed while it runs. "
            f"Ask again for a job that is still queued, or stop it and launch it again with a longer `--time`.")
