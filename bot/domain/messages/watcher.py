"""User-facing text: watcher."""

from __future__ import annotations

from bot.domain.clipping import clip

# --- watcher and diagnosis ---


def diag_oom(limit: str | None, relaunch: str | None = None) -> str:
    where = f" of {limit} per node" if limit else ""
    more = f"ask for more memory per node:\n`{relaunch}`\nor " if relaunch else ""
    return (f"The container ran out of memory: it used its whole memory limit{where} and the kernel killed it "
            f"(OOMKilled, exit code 137). Next: {more}use fewer data-loader workers or a smaller batch size.")


def diag_cuda_oom(gpu_type: str, memory_gb: int | None) -> str:
    each = f": each {gpu_type.upper()} has {memory_gb} GB" if memory_gb else ""
    return (f"CUDA ran out of GPU memory{each} (torch.OutOfMemoryError in the log). Next: lower the batch size "
            "per GPU, turn on gradient checkpointing or mixed precision, or spread the model over more GPUs.")


def diag_nccl() -> str:
    return ("The NCCL watchdog timed out on a collective (all-reduce): one rank stopped answering, usually a "
            "crashed peer, a slow data loader or a network problem between nodes. Next: look at the logs of every "
            "rank with `/gpu logs JOB`, then launch again; set NCCL_DEBUG=INFO with --env to see more.")


def diag_image_pull(image: str | None, detail: str) -> str:
    name = f"`{image}`" if image else "the image"
    return (f"Kubernetes could not pull {name} ({clip(detail, 300)}). Next: check the image name and tag, and that "
            "the cluster may read that registry (a private registry needs a pull secret). The job was ended so "
            "it does not hold GPUs.")


def diag_unschedulable(gpus_per_node: int, gpu_type: str, nodes: int, detail: str) -> str:
    shape = f"{nodes} node(s) with {gpus_per_node} free {gpu_type}" if nodes > 1 else f"{gpus_per_node} free {gpu_type}"
    return (f"Not scheduled yet: no node has {shape} right now (scheduler: {clip(detail, 300)}). It starts when GPUs "
            "free up; see `/gpu queue` and `/gpu gpus`.")


def diag_deadline(limit: str, relaunch: str) -> str:
    return (f"The job reached its time limit of {limit} and Kubernetes stopped it (DeadlineExceeded). "
            f"Next: save checkpoints more often, or ask for more time:\n`{relaunch}`")


def diag_exit(code: int | None) -> str:
    shown = "an error" if code is None else f"exit code {code}"
    return (f"The training process ended with {shown}. The last lines of its log are below. Next: fix the error "
            "they show and launch again.")


def diag_node_lost(detail: str) -> str:
    return (f"The node running the job stopped answering and its pods were lost ({clip(detail, 300)}). This is not "
            "your code's fault. Next: launch again (from your last checkpoint).")


def diag_evicted(detail: str) -> str:
    return f"Kubernetes evicted the pod ({clip(detail, 300)}). Next: launch again; tell the admins if it repeats."


def diag_unknown(detail: str) -> str:
    return f"The job failed ({clip(detail, 300) or 'no reason given'}). Next: look at `/gpu logs JOB`."


# Thread replies name their job: in a busy channel (and in notifications) the thread alone does not.


def thread_started(name: str, nodes: list[str]) -> str:
    where = f" on {', '.join(f'`{n}`' for n in nodes)}" if nodes else ""
    return f":large_green_circle: `{name}`: Started{where}."


def thread_succeeded(name: str, duration: str, gpu_hours: float) -> str:
    return f":white_check_mark: `{name}`: Succeeded after {duration} · {gpu_hours:.1f} GPU-hours."


def thread_failed(name: str, state: str, diagnosis: str) -> str:
    title = "Timed out" if state == "timedout" else "Failed"
    emoji = ":alarm_clock:" if state == "timedout" else ":x:"
    return f"{emoji} `{name}`: *{title}.* {diagnosis}"


def thread_waiting(name: str, diagnosis: str) -> str:
    return f":hourglass: `{name}`: {diagnosis}"


def thread_preempted(name: str, reason: str) -> str:
    return f":arrows_counterclockwise: `{name}`: {reason}."


def thread_stopped(name: str, by: str | None) -> str:
    who = f" by <@{by}>" if by else ""
    return f":black_square_for_stop: `{name}`: Stopped{who}."


def dm_finished(name: str, state: str, link: str | None) -> str:
    where = f" ({link})" if link else ""
    return f"Your job `{name}` has finished: *{state}*{where}."


def log_tail_title(lines: int) -> str:
    return f"Last {lines} log lines"


def logs_no_pods(name: str, state: str) -> str:
    return f"`{name}` has no pods to read logs from (state: {state})."


def logs_unreadable(pod: str, why: str) -> str:
    return f"(could not read the log of {pod}: {why})"


def logs_title(tail: int, name: str) -> str:
    return f"Last {tail} lines of {name}"


def logs_sent_as_file(name: str, shown: int, total: int) -> str:
    return (f"The log of `{name}` has {total} lines, more than a message holds: the whole tail is in a file "
            f"sent to you in a direct message; the newest {shown} are below.")


def logs_cut(shown: int, total: int) -> str:
    return f"Showing the newest {shown} of {total} lines: the rest does not fit in a message."


def home_title() -> str:
    return "GPU jobs"


def home_none() -> str:
    return "You have no jobs yet. Start one with `/gpu launch`."


def home_team_use(team: str, used: int, quota: int, borrowed: int = 0) -> str:
    """``used`` counts GPUs within the quota; ``borrowed`` those of over-quota (preemptible) jobs."""
    if not borrowed:
        return f"*Team {team}*: {used} of {quota} GPUs in use"
    return (f"*Team {team}*: {used + borrowed} in use ({used} within quota, {borrowed} borrowed) · quota {quota} GPUs; "
            "borrowed GPUs are preemptible")


def dm_pref_set(on: bool) -> str:
    return "I will DM you when your jobs finish." if on else "I will not DM you when your jobs finish."
