"""User-facing text: alerts."""

from __future__ import annotations

# --- alerts ---


def alert_title(resolved: bool, name: str, firing: int, total: int) -> str:
    if resolved:
        return f":white_check_mark: RESOLVED · {name} · {total:,} alert{'s' if total != 1 else ''}"
    return f":rotating_light: FIRING · {name} · {firing:,} of {total:,} firing"


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
    return f"… and {n:,} more"


def alert_storm(firing: int, resolved: int, by_name: list[tuple[str, int]], other_names: int,
                top_nodes: list[tuple[str, int]], nodes: int) -> str:
    """One line for a big group: "10,000 alerts firing: 9,812 GPUIdle, 188 XidError; top nodes …"."""
    count, state = (firing, "firing") if firing else (resolved, "resolved")
    names = ", ".join(f"{n:,} {name}" for name, n in by_name)
    if other_names:
        names += f", {other_names:,} other"
    line = f"{count:,} alert{'s' if count != 1 else ''} {state}: {names}"
    if top_nodes:
        shown = ", ".join(f"`{node}` ({n:,})" for node, n in top_nodes)
        line += f"; top nodes: {shown}" + (f" (of {nodes:,})" if nodes > len(top_nodes) else "")
    if firing and resolved:
        line += f" · {resolved:,} resolved"
    return line


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
