"""User-facing text: conversation."""

from __future__ import annotations

# --- conversation ---


def followup_cancelled() -> str:
    return "OK, dropped it: nothing was launched or stopped."


def nothing_to_confirm() -> str:
    return (
        "There is nothing waiting for a yes here. Say what you want in full, e.g. "
        "\"launch llama-ft on 8 H100s for 6 hours with ghcr.io/acme/train:1.4\", or see `/gpu help`."
    )


def clarify_which_job_of(verb: str, names: list[str]) -> str:
    """ "Which job? You have llama-ft and bert-base running." — the names come from the store."""
    if not names:
        return f"Which job should I {verb}? You have no queued or running jobs; `/gpu list` shows all of yours."
    shown = [f"`{n}`" for n in names[:6]]
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f" and {shown[-1]}"
    more = f" (and {len(names) - 6} more)" if len(names) > 6 else ""
    return f"Which job should I {verb}? You have {listed}{more} queued or running, e.g. `/gpu {verb} {names[0]}`."


def nothing_to_repeat() -> str:
    return (
        "You have no earlier launch for me to repeat. Say it in full, e.g. "
        "`/gpu launch llama-ft --image ghcr.io/acme/train:1.4 --gpus 8 --gpu-type h100 --time 6h`; "
        "after that, \"same as before but with 16 GPUs\" works."
    )
