"""User-facing text: console."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.clipping import clip

# --- console -------------------------------------------------------------------------------------
# `chatops console` and `chatops demo`: the terminal stands in for Slack.

DEMO_TRIES = (
    "/gpu launch demo --template smoke --gpu-type l40s",
    "/gpu launch llama-ft --image ghcr.io/acme/train:1.4 --gpus 8 --gpu-type h100 --time 2h --env SIM_DURATION=1h",
    "/gpu queue        /gpu list        /gpu status        /gpu gpus",
    "/gpu stop llama-ft",
    "/gpu launch oom --image ghcr.io/acme/train:1.4 --gpus 4 --gpu-type h100 --env SIM_FAIL=OOMKilled "
    "--env SIM_DURATION=1m",
    "fine-tune llama on 8 H100s for 2 hours   (a plain sentence)",
)
# How a job behaves on the simulated cluster (bot/sim/logs.py reads these from the job's environment).
SIM_CONVENTIONS = (
    "A simulated job runs 5 simulated minutes unless `--env SIM_DURATION=30m` (or seconds: `=600`) says "
    "otherwise, then succeeds.",
    "`--env SIM_FAIL=OOMKilled` (also `ImagePullBackOff`, `nccl-timeout`, `cuda-oom`, `exit:3`) makes it fail "
    "that way at the end of its run; an image tag `:fail-oom` does the same.",
)


@dataclass(frozen=True)
class Person:
    """Someone of the policy the console can be: ``/user ID`` switches to them."""

    user: str
    role: str  # "team research" or "admin"
    channel: str | None = None


def console_people(people: list[Person]) -> str:
    by_role: dict[str, list[Person]] = {}
    for p in people:
        by_role.setdefault(p.role, []).append(p)
    rows = []
    for role, members in by_role.items():
        where = f" in <#{members[0].channel}>" if members[0].channel else ""
        rows.append(f"  {role}{where}: {', '.join(p.user for p in members)}")
    return "Who you can be (`/user ID`, `/channel ID`):\n" + "\n".join(rows)


def console_banner(user: str, channel: str, cluster: str | None, people: list[Person] | None = None,
                   speed: float | None = None) -> str:
    lines = ["gpu-chatops console: you are talking to the bot as a Slack user would."]
    if cluster:
        lines.append(f"Demo cluster: {cluster}, at {speed or 1:g}× speed. Nothing leaves this machine.")
    lines += [
        f"You are <@{user}> in <#{channel}>. Buttons show as [N]: type the number to click.",
        "Things to try:",
        *(f"  {t}" for t in DEMO_TRIES),
    ]
    if cluster:
        lines += [*SIM_CONVENTIONS, demo_lacks()]
    if people:
        lines.append(console_people(people))
    lines.append("Console commands: /help, /home, /user UXXXX, /channel CXXXX, /quit (or Ctrl-D / Ctrl-C).")
    return "\n".join(lines)


def demo_lacks() -> str:
    return ("The demo has no Prometheus: `/gpu usage` has no history to chart and `/gpu gpus` shows no "
            "utilisation; everything else is live.")


def console_help(people: list[Person] | None = None, simulated: bool = False) -> str:
    text = (
        "Type `/gpu ...` for the slash command (`/gpu help` lists its subcommands), or a plain sentence "
        "(sent as a mention of the bot; in a D… channel as a direct message).\n"
        "A number clicks the button shown with it. `/home` opens the app's Home tab. `/user UXXXX` and "
        "`/channel CXXXX` change who and where you are; `/quit` ends the console."
    )
    if people:
        text += "\n" + console_people(people)
    if simulated:
        text += "\n" + "\n".join(SIM_CONVENTIONS) + "\n" + demo_lacks()
    return text


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


def demo_config_problems(path: str) -> str:
    return f"chatops demo: the policy {path} does not load (`chatops check-config {path}` says the same):"


def demo_no_gpu_types() -> str:
    return "chatops demo: the policy has no gpu_types, so the simulated cluster would have no GPUs to offer"


def demo_starting(cluster: str, speed: float) -> str:
    return f"Starting the demo: a simulated cluster ({cluster}) at {speed:g}× speed, an embedded store, the bot…"
