"""User-facing text: parsing."""

from __future__ import annotations

from bot.domain.messages.slurm import AFTER_HELP, SLURM_HELP_TOPICS

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


def parse_bad_memory(value: str, why: str) -> str:
    return f"`--memory {value}`: {why} (per node, e.g. `--memory 256Gi`)"


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


def parse_subcommand_typo(sub: str, meant: str) -> str:
    return f"`{sub}` is not a `/gpu` subcommand; did you mean `{meant}`?"


def parse_bad_quoting(reason: str) -> str:
    return f"the command could not be read ({reason}); check the quotes"


def clarify_launch_details() -> str:
    return (
        "What should I launch, and on how many GPUs? For example: "
        "`/gpu launch llama-ft --image ghcr.io/acme/train:1.4 --gpus 8 --gpu-type h100 --time 6h`, "
        "or say \"launch llama-ft on 8 H100s for 6 hours with ghcr.io/acme/train:1.4\"."
    )


def clarify_two_readings(first: str, second: str) -> str:
    """Evidence for two actions in one request: both, as the exact commands to type."""
    return f"I can do one thing per request. Did you mean `{first}`, or `{second}`? Send the one you want."


def clarify_which_job(verb: str) -> str:
    return (
        f"Which job should I {verb}? Name it, e.g. `/gpu {verb} llama-ft`, "
        "or use `/gpu list` to see your jobs."
    )


def clarify_out_of_scope() -> str:
    return (
        "I can only help with GPU training jobs: launch one "
        "(`/gpu launch NAME --image ghcr.io/acme/train:1.4 --gpus 8 --gpu-type h100 --time 6h`), "
        "check `/gpu status JOB`, `/gpu list` your jobs, read `/gpu logs JOB`, `/gpu stop JOB`, "
        "see the `/gpu queue` or free `/gpu gpus`. `/gpu help` shows everything."
    )


def clarify_not_allowed() -> str:
    return (
        "I can't do that: I only launch, watch and stop GPU training jobs, as you, in your team's "
        "namespace. Try `/gpu list` to see your jobs or `/gpu help` for what I can do."
    )


def clarify_empty() -> str:
    return ("What would you like to do? Try `/gpu help`, or e.g. "
            "`/gpu launch llama-ft --image ghcr.io/acme/train:1.4 --gpus 8 --gpu-type h100 --time 6h`.")


_HELP_TOPICS: dict[str, str] = {
    "launch": (
        "*`/gpu launch [NAME] [--template T] [--image I] [--gpus N] [--gpu-type T] [--nodes N] "
        "[--time 6h] [--priority low|normal|high] [--memory 256Gi] [--cpus N] [--env K=V]... "
        "[--after JOB[:ok|:any|:notok]] [--cluster NAME] [-- CMD...]`*\n"
        "Start a training job. `--gpus` is the total across all nodes; `--memory` and `--cpus` are per node "
        "(by default they come with the GPUs); a template fills only what you leave out; `--cluster` (when "
        "the policy lists several clusters) sends it to that one, else it goes where its GPU type has room.\n"
        "• `/gpu launch llama-ft --image ghcr.io/acme/train:1.4 --gpus 8 --gpu-type h100 --time 12h`\n"
        "• `/gpu launch --template llama-finetune --gpus 16 --nodes 2`\n"
        "• `/gpu launch dpo-7b --image ghcr.io/acme/train:1.4 --gpus 1 --gpu-type l40s --env WANDB_PROJECT=dpo "
        "-- python train.py`\n"
        f"{AFTER_HELP}, e.g. `/gpu launch eval --template llama-finetune --after llama-ft`"
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
        "(in one state). One job of yours stops at once; when it would stop several jobs (a list or "
        "`--mine`/`--team`/`--all`) or someone else's (admins), it asks you to confirm first.\n"
        "• `/gpu stop dpo-7b eval-run`\n"
        "• `/gpu stop --mine --state queued`"
    ),
    "queue": "*`/gpu queue`*\nThe queue: order, your position and the estimated start.",
    "gpus": "*`/gpu gpus`*\nCluster GPUs by type: capacity, in use, free, utilization.",
    "usage": "*`/gpu usage [6h|24h|7d]`*\nA chart of the cluster's GPU utilization and allocation by type "
    "over the window (6h by default).\n• `/gpu usage 24h`",
    "audit": "*`/gpu audit [--days N] [--user U]`*\nWho changed what (launches, approvals, stops, preemptions, "
    "silences, reloads), newest first; admins only.\n• `/gpu audit --days 30 --user @alice`",
    **SLURM_HELP_TOPICS,
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
        + "\nYou can also just write, e.g. \"launch llama-ft on 8 H100s for 6 hours with ghcr.io/acme/train:1.4\" or "
        "\"how is llama-ft doing?\". `/gpu help launch` shows details."
    )


HELP_TOPICS: tuple[str, ...] = tuple(_HELP_TOPICS)

# --- end parsing ---------------------------------------------------------------------------------


def clarify_which_action(first: str, second: str, job: str | None, commands: list[str]) -> str:
    """Two actions offered with "or": the person decides, the bot does not pick one."""
    about = f" with `{job}`" if job else ""
    shown = " or ".join(f"`{c}`" for c in commands)
    send = f" Send {shown}." if commands else " Say which one."
    return f"Should I {first} or {second}{about}? I do one thing per request, and won't choose for you.{send}"


def clarify_which_value(first: str, second: str, what: str) -> str:
    """Two values offered for one field ("4 or 8 GPUs"): ask which, with the command to type."""
    unit = what.strip().lower()
    if unit == "gpu type":
        flag, value = "--gpu-type", first
    elif unit.startswith("node"):
        flag, value = "--nodes", first
    elif unit in ("h", "hr", "hrs", "hour", "hours", "d", "day", "days", "m", "min", "mins", "minute", "minutes"):
        flag, value = "--time", f"{first}{unit[0]}"
    else:
        flag, value = "--gpus", first
    return (f"{first} or {second} {what}? Tell me which, e.g. `/gpu launch NAME {flag} {value}`, "
            "or send the request again with one value.")


def clarify_negated() -> str:
    return ("OK, I won't do anything. When you want something done, say it, e.g. `/gpu status JOB` "
            "or `/gpu stop JOB`.")


def clarify_undecided() -> str:
    return ("It sounds like you haven't decided yet, and I won't choose for you. Tell me one thing to do, "
            "e.g. `/gpu status JOB`, `/gpu logs JOB` or `/gpu stop JOB`.")


def clarify_your_call(command: str) -> str:
    """"Should I stop x?": the person decides; the bot gives the command that does it."""
    return f"That's your call. If you want it, send `{command}`."
