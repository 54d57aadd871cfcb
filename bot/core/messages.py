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


# --- console -------------------------------------------------------------------------------------
# `chatops console` and `chatops demo`: the terminal stands in for Slack.

DEMO_TRIES = (
    "/gpu launch demo --template smoke --gpu-type l40s",
    "/gpu launch llama-ft --image ghcr.io/acme/train:1.4 --gpus 8 --gpu-type h100 --time 1h --env SIM_DURATION=2m",
    "/gpu queue        /gpu list        /gpu status        /gpu gpus",
    "/gpu stop llama-ft",
    "/gpu launch oom --image ghcr.io/acme/train:1.4 --gpus 4 --gpu-type h100 --env SIM_FAIL=OOMKilled",
    "fine-tune llama on 8 H100s for 2 hours   (a plain sentence)",
)


def console_banner(user: str, channel: str, cluster: str | None) -> str:
    lines = ["gpu-chatops console: you are talking to the bot as a Slack user would."]
    if cluster:
        lines.append(f"Demo cluster: {cluster}. Nothing leaves this machine.")
    lines += [
        f"You are <@{user}> in <#{channel}>. Buttons show as [N]: type the number to click.",
        "Things to try:",
        *(f"  {t}" for t in DEMO_TRIES),
        "Console commands: /home, /help-console, /user UXXXX, /channel CXXXX, /quit (or Ctrl-D / Ctrl-C).",
    ]
    return "\n".join(lines)


def console_help() -> str:
    return (
        "Type `/gpu ...` for the slash command (`/gpu help` lists its subcommands), or a plain sentence "
        "(sent as a mention of the bot; in a D… channel as a direct message).\n"
        "A number clicks the button shown with it. `/home` opens the app's Home tab. `/user UXXXX` and "
        "`/channel CXXXX` change who and where you are; `/quit` ends the console."
    )


def console_unknown_command(word: str) -> str:
    return f"`{word}` is not a command here: use `/gpu ...`, a plain sentence, or `/help-console`."


def console_no_such_button(number: int) -> str:
    return f"There is no button [{number}]; type a number shown next to a button."


def console_not_confirmed() -> str:
    return "Not clicked."


def console_no_answer_yet() -> str:
    return "(no answer yet; it will show here when it comes)"


def console_not_delivered(status: int, detail: str) -> str:
    if status == 0:
        return f"The bot did not answer ({detail}); is it still running?"
    return f"The bot refused the request (HTTP {status}): {detail[:200]}"


def console_now_as(user: str, channel: str) -> str:
    return f"You are now <@{user}> in <#{channel}>."


def console_bad_id(kind: str, value: str, example: str) -> str:
    return f"`{value}` is not a Slack {kind} ID; write e.g. `{example}`."


def console_bye() -> str:
    return "Bye."


def console_no_cluster(why: str) -> str:
    return (f"chatops console: no Kubernetes cluster to talk to ({why}). Set KUBECONFIG (a simulated one: "
            "`chatops sim --kubeconfig-out sim.kubeconfig`), or run `chatops demo`, which brings its own.")


def console_home_changed(user: str) -> str:
    return f"── App Home of <@{user}> updated (type /home to see it) ──"


def demo_starting(cluster: str, speed: float) -> str:
    return f"Starting the demo: a simulated cluster ({cluster}) at {speed:g}× speed, an embedded store, the bot…"


# --- watcher and diagnosis ---


def diag_oom(limit: str | None) -> str:
    where = f" of {limit}" if limit else ""
    return (f"The container ran out of memory: it used its whole memory limit{where} and the kernel killed it "
            "(OOMKilled, exit code 137). Next: ask for more memory, or use fewer data-loader workers or a "
            "smaller batch size.")


def diag_cuda_oom() -> str:
    return ("CUDA ran out of GPU memory (torch.OutOfMemoryError in the log). Next: lower the batch size per GPU, "
            "turn on gradient checkpointing or mixed precision, or spread the model over more GPUs.")


def diag_nccl() -> str:
    return ("The NCCL watchdog timed out on a collective (all-reduce): one rank stopped answering, usually a "
            "crashed peer, a slow data loader or a network problem between nodes. Next: look at the logs of every "
            "rank with `/gpu logs JOB`, then launch again; set NCCL_DEBUG=INFO with --env to see more.")


def diag_image_pull(image: str | None, detail: str) -> str:
    name = f"`{image}`" if image else "the image"
    return (f"Kubernetes could not pull {name} ({detail[:300]}). Next: check the image name and tag, and that "
            "the cluster may read that registry (a private registry needs a pull secret). The job was ended so "
            "it does not hold GPUs.")


def diag_unschedulable(gpus_per_node: int, gpu_type: str, nodes: int, detail: str) -> str:
    shape = f"{nodes} node(s) with {gpus_per_node} free {gpu_type}" if nodes > 1 else f"{gpus_per_node} free {gpu_type}"
    return (f"Not scheduled yet: no node has {shape} right now (scheduler: {detail[:300]}). It starts when GPUs "
            "free up; see `/gpu queue` and `/gpu gpus`.")


def diag_deadline(limit: str, relaunch: str) -> str:
    return (f"The job reached its time limit of {limit} and Kubernetes stopped it (DeadlineExceeded). "
            f"Next: save checkpoints more often, or ask for more time:\n`{relaunch}`")


def diag_exit(code: int | None) -> str:
    shown = "an error" if code is None else f"exit code {code}"
    return (f"The training process ended with {shown}. The last lines of its log are below. Next: fix the error "
            "they show and launch again.")


def diag_node_lost(detail: str) -> str:
    return (f"The node running the job stopped answering and its pods were lost ({detail[:300]}). This is not "
            "your code's fault. Next: launch again (from your last checkpoint).")


def diag_evicted(detail: str) -> str:
    return f"Kubernetes evicted the pod ({detail[:300]}). Next: launch again; tell the admins if it repeats."


def diag_unknown(detail: str) -> str:
    return f"The job failed ({detail[:300] or 'no reason given'}). Next: look at `/gpu logs JOB`."


def thread_started(nodes: list[str]) -> str:
    where = f" on {', '.join(f'`{n}`' for n in nodes)}" if nodes else ""
    return f":large_green_circle: Started{where}."


def thread_succeeded(duration: str, gpu_hours: float) -> str:
    return f":white_check_mark: Succeeded after {duration} · {gpu_hours:.1f} GPU-hours."


def thread_failed(state: str, diagnosis: str) -> str:
    title = "Timed out" if state == "timedout" else "Failed"
    emoji = ":alarm_clock:" if state == "timedout" else ":x:"
    return f"{emoji} *{title}.* {diagnosis}"


def thread_waiting(diagnosis: str) -> str:
    return f":hourglass: {diagnosis}"


def thread_stopped(by: str | None) -> str:
    return f":black_square_for_stop: Stopped by <@{by}>." if by else ":black_square_for_stop: Stopped."


def dm_finished(name: str, state: str, link: str | None) -> str:
    where = f" ({link})" if link else ""
    return f"Your job `{name}` has finished: *{state}*{where}."


def log_tail_title(lines: int) -> str:
    return f"Last {lines} log lines"


def logs_no_pods(name: str, state: str) -> str:
    return f"`{name}` has no pods to read logs from (state: {state})."


def logs_unreadable(pod: str, why: str) -> str:
    return f"(could not read the log of {pod}: {why})"


def logs_sent_as_file(name: str) -> str:
    return f"The log of `{name}` is long: the whole tail is in a file sent to you in a direct message."


def home_title() -> str:
    return "GPU jobs"


def home_none() -> str:
    return "You have no jobs yet. Start one with `/gpu launch`."


def home_team_use(team: str, used: int, quota: int) -> str:
    return f"*Team {team}*: {used} of {quota} GPUs in use"


def dm_pref_set(on: bool) -> str:
    return "I will DM you when your jobs finish." if on else "I will not DM you when your jobs finish."


# --- conversation ---


def followup_cancelled() -> str:
    return "OK, dropped it: nothing was launched or stopped."


def nothing_to_confirm() -> str:
    return (
        "There is nothing waiting for a yes here. Say what you want in full, e.g. "
        "\"launch llama-ft on 8 H100s for 6 hours\", or see `/gpu help`."
    )


def clarify_which_job_of(verb: str, names: list[str]) -> str:
    """ "Which job? You have llama-ft and bert-base running." — the names come from the store."""
    if not names:
        return f"Which job should I {verb}? You have no queued or running jobs; `/gpu list` shows all of yours."
    shown = [f"`{n}`" for n in names[:6]]
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" and {shown[-1]}"
    more = f" (and {len(names) - 6} more)" if len(names) > 6 else ""
    return f"Which job should I {verb}? You have {listed}{more} queued or running, e.g. `/gpu {verb} {names[0]}`."


# --- scheduler -----------------------------------------------------------------------------------


def sched_needs(gpus: int, gpu_type: str, free: int) -> str:
    return f"needs {gpus} × {gpu_type}, {free} free"


def sched_quota(team: str, used: int, quota: int) -> str:
    return f"team quota full: {used}/{quota} GPUs in use by {team}"


def sched_idle_only(team: str, used: int, quota: int, gpus: int, gpu_type: str) -> str:
    return (f"team quota full: {used}/{quota}; starts over quota (preemptible) once {gpus} × {gpu_type} "
            "are idle")


def sched_behind(ahead: int, priority: str | None) -> str:
    jobs = "job" if ahead == 1 else "jobs"
    if priority:
        return f"behind {ahead} {priority}-priority {jobs}"
    return f"behind {ahead} earlier {jobs} for the same GPUs"


def sched_draining(gpus: int, gpu_type: str) -> str:
    return f"needs {gpus} × {gpu_type}: preempted jobs are checkpointing and exiting"


def sched_preempting(count: int) -> str:
    return f"making room: preempting {count} preemptible job{'s' if count != 1 else ''}"


def preempted_reason(for_job: str, grace_s: int) -> str:
    return (f"preempted to make room for `{for_job}` (within its team's quota); it had {grace_s} s to "
            "checkpoint and is back in the queue at its old place")


def over_quota_note() -> str:
    return "running over the team quota on idle GPUs: preemptible"


def eta_text(eta: float | None, now: float) -> str:
    """``14:05 UTC (in 2 h 10 min)``; ``unknown`` when the job does not start within the horizon."""
    import time as _time  # formatting only: no clock is read here

    if eta is None:
        return "not within the next days"
    wait = max(0, int(eta - now))
    if wait < 60:
        return "now"
    hours, minutes = divmod((wait + 30) // 60, 60)  # to the nearest minute
    days, hours = divmod(hours, 24)
    parts = [f"{days} d"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes and not days else []
    clock = _time.strftime("%H:%M UTC" if days == 0 else "%a %H:%M UTC", _time.gmtime(eta))
    return f"{clock} (in {' '.join(parts) or '1 min'})"


def queue_title(count: int) -> str:
    return f"The queue, in order: {count} job{'s' if count != 1 else ''}"


def queue_more(hidden: int) -> str:
    return f"… and {hidden} more queued job{'s' if hidden != 1 else ''} not shown."


def mended(key: str, what: str) -> str:
    return f"mended {key}: {what}"


MENDED_CREATED = "admitted in Redis but missing in Kubernetes: created it"
MENDED_RUNNING = "running in Kubernetes but queued in Redis: marked running"
MENDED_GONE = "the Kubernetes Job disappeared (deleted outside the bot)"


# --- alerts ---


def alert_title(resolved: bool, name: str, firing: int, total: int) -> str:
    if resolved:
        return f":white_check_mark: RESOLVED · {name} · {total} alert{'s' if total != 1 else ''}"
    return f":rotating_light: FIRING · {name} · {firing} of {total} firing"


def alert_mixed_name() -> str:
    return "several alerts"


def alert_line(firing: bool, severity: str, summary: str, where: str, runbook: str) -> str:
    mark = ":red_circle:" if firing else ":white_check_mark:"
    line = f"{mark} [{severity}] {summary}"
    if where:
        line += f" — {where}"
    if runbook:
        line += f" · <{runbook}|runbook>"
    return line


def alert_pod(namespace: str, pod: str) -> str:
    return f"pod `{namespace}/{pod}`" if namespace else f"pod `{pod}`"


def alert_node(node: str) -> str:
    return f"node `{node}`"


def alert_gpu(gpu: str, model: str | None) -> str:
    return f"GPU `{gpu}`" + (f" ({model})" if model else "")


def alert_more(n: int) -> str:
    return f"… and {n} more"


def alert_about_job(job_key: str) -> str:
    return f"About the bot-managed job `{job_key}`"


def alert_silenced(by: str, until: float) -> str:
    import time as _time  # formatting only: the core reads no clock here

    return f":no_bell: Silenced by <@{by}> until {_time.strftime('%Y-%m-%d %H:%M UTC', _time.gmtime(until))}"


def alert_button_silence(hours: int) -> str:
    return f"Silence {hours}h"


def alert_button_expire() -> str:
    return "Expire silence"


def alert_button_stop() -> str:
    return "Stop job"


def alert_stop_confirm_title() -> str:
    return "Stop this job?"


def alert_stop_confirm(name: str) -> str:
    return f"Stop {name}? Its pods are deleted."


def alert_stop_deny() -> str:
    return "Keep it"


def alert_group_gone() -> str:
    return "This alert is no longer tracked by the bot (it resolved long ago); nothing was changed."


def alert_silence_created(hours: int, silence_id: str) -> str:
    return f"Silenced for {hours}h (silence `{silence_id}`); the alert message shows it."


def alert_silence_expired(silence_id: str) -> str:
    return f"Expired silence `{silence_id}`."


def alert_no_silence() -> str:
    return "This alert has no active silence from the bot; nothing to expire."


def alertmanager_unset() -> str:
    return "ALERTMANAGER_URL is not set, so the bot cannot create or expire silences; ask an admin to set it."


def idle_nudge(name: str, minutes: int, util: float) -> str:
    return (
        f":zzz: Your job `{name}` has kept its GPUs idle for {minutes} minutes (mean utilization {util:.0f}%). "
        "If it is done or stuck, stop it so others can use them."
    )


def gpus_util_title() -> str:
    return "*Cluster GPUs* (utilization: mean over the last 5 minutes, from Prometheus)"


def gpus_jobs_title() -> str:
    return "*Running jobs* (GPU utilization and memory)"


def usage_title(window: str) -> str:
    return f"Cluster GPU utilization and allocation by type, last {window}"


def usage_no_prometheus() -> str:
    return "PROMETHEUS_URL is not set, so the bot has no GPU history to chart; `/gpu gpus` shows the cluster now."


def usage_no_data(window: str) -> str:
    return f"Prometheus has no GPU metrics for the last {window} (is the DCGM exporter scraped?)."


def usage_posted(window: str) -> str:
    return f"Posted the GPU usage chart for the last {window}."


def parse_bad_usage_window(given: str) -> str:
    return f"`{given}` is not a window `/gpu usage` charts: use 6h, 24h or 7d."
