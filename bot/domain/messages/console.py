"""User-facing text: console."""

from __future__ import annotations

from bot.domain.clipping import clip

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
    return f"The bot refused the request (HTTP {status}): {clip(detail, 200)}"


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
