"""Helpers for the watcher tests: launch through Slack, find a job's card and its thread replies."""

from __future__ import annotations

import json

from bot.render import replies as rendering
from tests.support.botstack import BotStack, button_value
from tests.support.waiting import wait

OWNER = "URES0001"
IMAGE = "ghcr.io/acme/train:1.4"


def launch(stack: BotStack, text: str, user: str = OWNER) -> str:
    """Preview then click [Launch]; returns the job name."""
    preview = stack.ask(text, user)
    token = button_value(preview, rendering.LAUNCH_CONFIRM)
    status, rid = stack.click(rendering.LAUNCH_CONFIRM, token, user)
    assert status == 200
    done = stack.answer(rid)
    assert "Submitted" in done["text"], done
    return str(done["text"]).split("`")[1]


def card_ts(stack: BotStack, name: str) -> tuple[str, str]:
    """(channel, ts) of the job's card (its first top-level post)."""
    def find() -> tuple[str, str] | None:
        for (channel, ts), m in list(stack.slack.messages.items()):
            blocks = m.get("blocks") or []
            if not m.get("thread_ts") and blocks and blocks[0].get("type") == "header" \
                    and blocks[0]["text"]["text"] == name:
                return channel, ts
        return None
    found: tuple[str, str] = wait(find, what=f"the card of {name}")
    return found


def card_text(stack: BotStack, name: str) -> str:
    channel, ts = card_ts(stack, name)
    return json.dumps(stack.slack.messages[(channel, ts)].get("blocks"), ensure_ascii=False)


def wait_card(stack: BotStack, name: str, *needles: str, timeout: float = 20.0) -> str:
    """Wait until the card (as Slack holds it now) contains every needle."""
    def ok() -> str | None:
        text = card_text(stack, name)
        return text if all(n in text for n in needles) else None
    try:
        found: str = wait(ok, timeout, f"card of {name} with {needles}")
    except AssertionError:
        shown = card_text(stack, name)[:1500]
        raise AssertionError(f"card of {name} never showed {needles}; it shows {shown}") from None
    return found


def replies(stack: BotStack, name: str) -> list[str]:
    """The texts (blocks as JSON) of the replies in the card's thread, oldest first."""
    _channel, ts = card_ts(stack, name)
    return [json.dumps(c.args.get("blocks"), ensure_ascii=False)
            for c in stack.slack.calls("chat.postMessage")
            if c.args.get("thread_ts") == ts and c.status == 200]


def wait_reply(stack: BotStack, name: str, *needles: str, timeout: float = 20.0) -> str:
    def ok() -> str | None:
        return next((r for r in replies(stack, name) if all(n in r for n in needles)), None)
    try:
        found: str = wait(ok, timeout, f"reply of {name} with {needles}")
    except AssertionError:
        raise AssertionError(f"no reply of {name} with {needles}; replies: {replies(stack, name)}") from None
    return found


def states(stack: BotStack, name: str, namespace: str = "ml-research") -> list[str]:
    return [s for s, _t in stack.bot.runtime.store.history(namespace, name)]
