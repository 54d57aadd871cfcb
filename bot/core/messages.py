"""Every sentence the bot says to a person, in one place.

Each refusal says what was wrong and the exact command that would work. Functions (not bare
constants) where the text needs values, so call sites never assemble user-facing prose.
"""

from __future__ import annotations

# --- parsing: the /gpu grammar and sentences -----------------------------------------------------
# Error texts are (why, fix) pairs: the grammar builds the corrected command, these say why.

def parse_unknown_flag(flag: str, sub: str, known: list[str], closest: str | None) -> str:
    hint = f" Did you mean `{closest}`?" if closest else ""
    return f"`{flag}` is not a flag of `/gpu {sub}` (it takes {', '.join(known) or 'no flags'}).{hint}"


def parse_missing_value(flag: str, example: str) -> str:
    return f"`{flag}` needs a value, e.g. `{flag} {example}`"


def parse_not_whole_number(flag: str, value: str) -> str:
    return f"`{value}` is not a whole number (for `{flag}`)"


def parse_not_positive(flag: str, value: int) -> str:
    return f"`{flag}` must be at least 1, not {value}"


def parse_bad_duration(value: str, reason: str) -> str:
    return f"`--time {value}`: {reason}"


def parse_no_unit(value: str) -> str:
    return f"{value} has no unit; write e.g. {value}h, {value}m or {value}d"


def parse_bad_name(reason: str) -> str:
    return reason


def parse_uneven_gpus(gpus: int, nodes: int) -> str:
    return (
        f"{gpus} GPUs cannot be split evenly across {nodes} nodes: "
        "`--gpus` is the total and must be a multiple of `--nodes`"
    )


def parse_bad_choice(flag: str, value: str, choices: tuple[str, ...]) -> str:
    return f"`{flag} {value}` is not one of {', '.join(choices)}"


def parse_bad_env(value: str) -> str:
    return f"`--env {value}` is not of the form NAME=VALUE"


def parse_bad_env_name(name: str) -> str:
    return (
        f"`{name}` is not a valid environment variable name "
        "(letters, digits and '_', not starting with a digit)"
    )


def parse_needs_job(sub: str) -> str:
    return f"`/gpu {sub}` needs a job name, e.g. `/gpu {sub} llama-ft`; `/gpu list` shows your jobs"


def parse_extra_positional(sub: str, first: str, extra: str) -> str:
    what = "one job name" if sub in ("launch", "status", "logs") else "no arguments"
    return f"`/gpu {sub}` takes {what}; got `{first}` and also `{extra}`"


def parse_extra_launch_words(name: str, extra: str) -> str:
    return (
        f"`/gpu launch` takes one job name (`{name}`); `{extra}` looks like a command: "
        "put the command after `--`"
    )


def parse_no_args(sub: str, extra: str) -> str:
    return f"`/gpu {sub}` takes no arguments; got `{extra}`"


def parse_conflicting(a: str, b: str) -> str:
    return f"`{a}` and `{b}` cannot be used together"


def parse_stop_needs_target() -> str:
    return "`/gpu stop` needs job names or `--mine` (optionally with `--state`), e.g. `/gpu stop llama-ft`"


def parse_unknown_help_topic(topic: str, topics: tuple[str, ...]) -> str:
    return f"there is no help topic `{topic}`; topics: {', '.join(topics)}"


def parse_unknown_subcommand(sub: str, subs: tuple[str, ...]) -> str:
    return f"`{sub}` is not a `/gpu` subcommand; subcommands: {', '.join(subs)}"


def parse_bad_quoting(reason: str) -> str:
    return f"the command could not be read ({reason}); check the quotes"


def clarify_launch_details() -> str:
    return (
        "What should I launch, and on how many GPUs? For example: "
        "`/gpu launch llama-ft --gpus 8 --gpu-type h100 --time 6h`, "
        "or say \"launch llama-ft on 8 H100s for 6 hours\"."
    )


def clarify_which_job(verb: str) -> str:
    return (
        f"Which job should I {verb}? Name it, e.g. `/gpu {verb} llama-ft`, "
        "or use `/gpu list` to see your jobs."
    )


def clarify_out_of_scope() -> str:
    return (
        "I can only help with GPU training jobs: launch one (`/gpu launch NAME --gpus 8 --time 6h`), "
        "check `/gpu status JOB`, `/gpu list` your jobs, read `/gpu logs JOB`, `/gpu stop JOB`, "
        "see the `/gpu queue` or free `/gpu gpus`. `/gpu help` shows everything."
    )


def clarify_not_allowed() -> str:
    return (
        "I can't do that: I only launch, watch and stop GPU training jobs, as you, in your team's "
        "namespace. Try `/gpu list` to see your jobs or `/gpu help` for what I can do."
    )


def clarify_empty() -> str:
    return "What would you like to do? Try `/gpu help`, or e.g. `/gpu launch llama-ft --gpus 8 --time 6h`."


_HELP_TOPICS: dict[str, str] = {
    "launch": (
        "*`/gpu launch [NAME] [--template T] [--image I] [--gpus N] [--gpu-type T] [--nodes N] "
        "[--time 6h] [--priority low|normal|high] [--env K=V]... [-- CMD...]`*\n"
        "Start a training job. `--gpus` is the total across all nodes; a template fills only what you "
        "leave out.\n"
        "• `/gpu launch llama-ft --gpus 8 --gpu-type h100 --time 12h`\n"
        "• `/gpu launch --template llama-finetune --gpus 16 --nodes 2`\n"
        "• `/gpu launch dpo-7b --image ghcr.io/acme/train:1.4 --env WANDB_PROJECT=dpo -- python train.py`"
    ),
    "status": "*`/gpu status [JOB]`*\nState of a job (your latest one without a name).\n• `/gpu status llama-ft`",
    "list": (
        "*`/gpu list [--team|--all] [--state queued|running|succeeded|failed|stopped]`*\n"
        "Your jobs, your team's or everyone's.\n• `/gpu list --team --state running`"
    ),
    "logs": "*`/gpu logs JOB [--tail N]`*\nThe last lines of a job's output (50 by default).\n"
    "• `/gpu logs llama-ft --tail 200`",
    "stop": (
        "*`/gpu stop JOB...` or `/gpu stop --mine [--state S]`*\nStop jobs by name, or all of yours "
        "(in one state). Asks for confirmation.\n• `/gpu stop dpo-7b eval-run`\n"
        "• `/gpu stop --mine --state queued`"
    ),
    "queue": "*`/gpu queue`*\nThe queue: order, your position and the estimated start.",
    "gpus": "*`/gpu gpus`*\nCluster GPUs by type: capacity, in use, free, utilization.",
    "help": "*`/gpu help [SUBCOMMAND]`*\nThis help, or the details of one subcommand.\n• `/gpu help launch`",
}


def help_text(topic: str | None = None) -> str:
    """Usage and examples: all subcommands, or one."""
    if topic in _HELP_TOPICS:
        return _HELP_TOPICS[topic]
    lines = [_HELP_TOPICS[t].split("\n")[0] for t in _HELP_TOPICS]
    return (
        "I run GPU training jobs on the cluster. Commands:\n"
        + "\n".join(lines)
        + "\nYou can also just write, e.g. \"launch llama-ft on 8 H100s for 6 hours\" or "
        "\"how is llama-ft doing?\". `/gpu help launch` shows details."
    )


HELP_TOPICS: tuple[str, ...] = tuple(_HELP_TOPICS)

# --- end parsing ---------------------------------------------------------------------------------


# --- policy: refusals (why) ----------------------------------------------------------------------
# The corrected command ("fix") is built from the action itself, so it is always runnable.

EXAMPLE_IMAGE = "ghcr.io/acme/train:1.4"


def _dur(seconds: int) -> str:
    from bot.core.durations import format_duration

    return format_duration(seconds)


def not_a_member(user_id: str, teams: list[str]) -> str:
    return (
        f"You (<@{user_id}>) are not a member of any team in the bot's policy, so there is no namespace "
        f"to run in. Ask an admin to add `{user_id}` to `teams.<team>.members` (teams: {', '.join(teams)})."
    )


def unknown_template(name: str, known: list[str]) -> str:
    return f"There is no template `{name}`. Templates: {', '.join(f'`{k}`' for k in known) or 'none'}."


def missing_image() -> str:
    return "A launch needs an image (`--image`) or a template (`--template`) that names one."


def bad_counts(gpus: int, nodes: int) -> str:
    return f"GPUs and nodes must be at least 1 (got --gpus {gpus} --nodes {nodes})."


def gpus_not_divisible(gpus: int, nodes: int) -> str:
    return f"{gpus} GPUs do not split evenly over {nodes} nodes; every node gets the same number of GPUs."


def image_not_allowed(image: str, allowed: list[str]) -> str:
    return f"The image `{image}` is not allowed here. Allowed: {', '.join(f'`{p}`' for p in allowed) or 'none'}."


def too_many_gpus(gpus: int, limit: int) -> str:
    return f"{gpus} GPUs is over the limit of {limit} GPUs per job."


def too_many_nodes(nodes: int, limit: int) -> str:
    return f"{nodes} nodes is over the limit of {limit} nodes per job."


def time_too_long(seconds: int, limit: int) -> str:
    return f"A time limit of {_dur(seconds)} is over the maximum of {_dur(limit)}."


def high_priority_not_allowed() -> str:
    return "You may not use priority `high`; ask an admin to add you to `limits.high_priority`."


def over_team_quota(team: str, gpus: int, quota: int) -> str:
    return f"{gpus} GPUs is more than team {team}'s whole quota of {quota} GPUs."


def missing_gpu_type(present: list[str]) -> str:
    return f"Say which GPU type to use with `--gpu-type`. This cluster has: {', '.join(present) or 'none'}."


def unknown_gpu_type(gpu_type: str, known: list[str]) -> str:
    return f"Unknown GPU type `{gpu_type}`. Known types: {', '.join(known)}."


def gpu_type_absent(gpu_type: str, present: list[str]) -> str:
    return f"No node in the cluster has {gpu_type} GPUs. Types available now: {', '.join(present) or 'none'}."


def gpus_per_node_do_not_fit(gpus: int, nodes: int, gpu_type: str, per_node: int) -> str:
    return (
        f"{gpus} GPUs on {nodes} node(s) is {gpus // nodes} {gpu_type} per node, "
        f"but {gpu_type} nodes have {per_node} GPUs at most."
    )


def not_enough_nodes(nodes: int, gpu_type: str, have: int) -> str:
    return f"The job asks for {nodes} {gpu_type} nodes; the cluster has {have}."


def not_your_job(name: str, owner: str) -> str:
    return f"`{name}` belongs to <@{owner}>; only its owner or an admin may stop it."


def stop_own_jobs_fix() -> str:
    return "/gpu stop --mine"


def job_not_found(name: str, mine: list[str]) -> str:
    hint = f" Your jobs: {', '.join(f'`{n}`' for n in mine)}." if mine else ""
    return f"There is no job `{name}` you can see.{hint}"


def no_jobs_yet() -> str:
    return "You have no jobs yet."


def name_taken(name: str) -> str:
    return f"A job named `{name}` already exists in your namespace."


def nothing_to_stop() -> str:
    return "No job matches; nothing to stop."


def preview_expired() -> str:
    return "This preview has expired or was already answered. Run the command again."


def not_your_preview(requester: str) -> str:
    return f"Only <@{requester}>, who asked for this launch, can confirm it."


def backend_unavailable(what: str) -> str:
    return f"{what} is not answering right now; nothing was changed. Try again in a minute."


def dry_run_rejected(reason: str) -> str:
    return f"The cluster rejected the job in a dry run: {reason}"


def internal_error(request_id: str) -> str:
    return f"Something went wrong on our side (request {request_id}); nothing was changed. Try again."


# --- cards and replies ---------------------------------------------------------------------------

STATE_EMOJI = {
    "queued": ":hourglass_flowing_sand:",
    "admitted": ":rocket:",
    "pending": ":hourglass:",
    "running": ":large_green_circle:",
    "succeeded": ":white_check_mark:",
    "failed": ":x:",
    "stopped": ":black_square_for_stop:",
    "timedout": ":alarm_clock:",
}


def preview_title(name: str | None) -> str:
    return f"Launch `{name}`?" if name else "Launch this job?"


def preview_cancelled() -> str:
    return "Cancelled; nothing was launched."


def launch_submitted(name: str, channel: str | None) -> str:
    where = f" in <#{channel}>" if channel else ""
    return f"Submitted `{name}`; its card is{where} and will follow the job."


def stop_preview(names: list[str]) -> str:
    return f"Stop {len(names)} job(s): {', '.join(f'`{n}`' for n in names)}?"


def stopped(names: list[str]) -> str:
    return f"Stopped {', '.join(f'`{n}`' for n in names)}."


def stop_cancelled() -> str:
    return "Nothing was stopped."


def queue_empty() -> str:
    return "The queue is empty: every submitted job is running or finished."


def waiting_reason(gpus: int, gpu_type: str, free: int) -> str:
    return f"waiting for GPUs: needs {gpus} × {gpu_type}, {free} free"


def quota_reason(team: str, used: int, quota: int) -> str:
    return f"team quota full: {used}/{quota} GPUs in use by {team}"


def stopped_by(user: str) -> str:
    return f"stopped by <@{user}>"


def bad_payload() -> str:
    return "Slack sent a request the bot could not read; nothing was done. Try the command again."
