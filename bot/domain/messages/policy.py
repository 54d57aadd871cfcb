"""User-facing text: policy."""

from __future__ import annotations

from collections.abc import Mapping

# --- policy: refusals (why) ----------------------------------------------------------------------
# The corrected command ("fix") is built from the action itself, so it is always runnable.

EXAMPLE_IMAGE = "ghcr.io/acme/train:1.4"


def _dur(seconds: int) -> str:
    from bot.domain.durations import format_duration

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


def preview_based_on(name: str) -> str:
    """A launch copied from the asker's last one ("same as before but with 32 GPUs")."""
    return f"Based on `{name}`, your last launch; only what you asked for is changed."


def only_admins_stop_others(names: list[str], owner: str) -> str:
    """A stop by scope ("stop everyone's jobs") from someone who is not an admin."""
    shown = ", ".join(f"`{n}`" for n in names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return (f"Only admins stop other people's jobs: {shown} belong{'s' if len(names) == 1 else ''} to others "
            f"(e.g. <@{owner}>); only its owner or an admin may stop it.")


def job_not_found(name: str, mine: list[str]) -> str:
    hint = f" Your jobs: {', '.join(f'`{n}`' for n in mine)}." if mine else ""
    return f"There is no job `{name}` you can see.{hint}"


def no_jobs_yet() -> str:
    return "You have no jobs yet."


def name_taken(name: str) -> str:
    return f"A job named `{name}` already exists in your namespace."


def memory_too_big(asked: str, gpu_type: str, largest: str) -> str:
    return f"`--memory {asked}` is per node, and no {gpu_type} node has that much: the largest has {largest}."


def cpus_too_many(asked: int, gpu_type: str, largest: int) -> str:
    return f"`--cpus {asked}` is per node, and no {gpu_type} node has that many: the largest has {largest}."


def logs_not_yours(name: str, team: str) -> str:
    return f"The logs of `{name}` are for team {team} and the admins; its card is for everyone."


def nothing_to_stop() -> str:
    return "No job matches; nothing to stop."


_ENDED = {"succeeded": "succeeded", "failed": "failed", "stopped": "stopped", "timedout": "timed out"}


def already_finished(name: str, state: str, finished_at: float | None, now: float) -> str:
    """```x` already succeeded at 19:28 UTC; nothing to stop.`` (the day too when it was not today)."""
    import time as _time  # formatting only: no clock is read here

    when = ""
    if finished_at:
        ended, today = _time.gmtime(finished_at), _time.gmtime(now)
        day = "" if ended[:3] == today[:3] else _time.strftime(" on %b %d", ended)
        when = f"{day} at {_time.strftime('%H:%M', ended)} UTC"
    return f"`{name}` already {_ENDED.get(state, state)}{when}; nothing to stop."


def preview_expired() -> str:
    return "This preview has expired or was already answered. Run the command again."


def not_your_preview(requester: str) -> str:
    return f"Only <@{requester}>, who asked for this launch, can confirm it."


def dry_run_rejected(reason: str) -> str:
    return f"The cluster rejected the job in a dry run: {reason}"


def namespace_missing(namespace: str) -> str:
    return (
        f"Your team's namespace `{namespace}` does not exist on the cluster, so no job can start there: "
        f"ask an admin to create namespace `{namespace}` (`kubectl create namespace {namespace}`)."
    )


def internal_error(request_id: str) -> str:
    return f"Something went wrong on our side (request {request_id}); nothing was changed. Try again."


# --- the policy file (`chatops check-config`) ----------------------------------------------------


def config_unknown_key(loc: str, close: str | None, known: list[str]) -> str:
    if close:
        return f"{loc}: unknown key; did you mean '{close}'?"
    return f"{loc}: unknown key; remove it (keys here: {', '.join(known) or 'none'})"


def config_missing_key(loc: str) -> str:
    return f"{loc}: required key is missing; add it"


def config_not_whole_number(loc: str, value: object, unit: str) -> str:
    return f"{loc}: {value!r} must be a whole number of {unit}"


def config_not_a_channel_id(value: str) -> str:
    return (f"'{value}' is not a Slack channel ID (the bot posts by ID, not by name): in Slack open the "
            "channel, click its name; the ID (like C0123ABCDE) is at the bottom of the About tab")


def job_kinds_explained(default: str, per_template: Mapping[str, str], max_restarts: int, runtime: str) -> str:
    """``chatops check-config``: what launches create when a policy uses JobSet or Trainer (issue 15)."""
    what = {"job": "a batch/v1 Job (+ a headless Service for several nodes)",
            "jobset": f"one JobSet (jobset.x-k8s.io/v1alpha2; restarted as a whole up to {max_restarts} time(s))",
            "trainjob": f"one TrainJob (trainer.kubeflow.org/v1alpha1) on the ClusterTrainingRuntime '{runtime}'"}
    lines = [f"job_kind: a launch creates {what[default]}"]
    lines += [f"  template {name}: {what[kind]}" for name, kind in sorted(per_template.items())]
    needs = sorted({k for k in (default, *per_template.values()) if k != "job"})
    if needs:
        crds = {"jobset": "JobSet", "trainjob": "Kubeflow Trainer v2 (with JobSet)"}
        lines.append(f"  the cluster needs {' and '.join(crds[k] for k in needs)} installed, and the bot the RBAC "
                     "of deploy/components/workload-kinds")
    return "\n".join(lines)
