"""Block Kit → terminal text, for the console. Pure: dicts in, strings out, no I/O.

Buttons cannot be clicked in a terminal, so each one gets a number the person types instead;
numbering is handed in by the caller so numbers stay unique across every message shown.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

Block = dict[str, Any]

# The few emoji the bot uses, as the characters a terminal shows; others stay as :name:.
EMOJI = {
    "hourglass_flowing_sand": "⏳", "hourglass": "⌛", "rocket": "🚀", "large_green_circle": "🟢",
    "white_check_mark": "✅", "x": "❌", "black_square_for_stop": "⏹", "alarm_clock": "⏰",
    "no_entry": "⛔", "warning": "⚠️", "information_source": "ℹ️", "fire": "🔥", "rotating_light": "🚨",
    "bell": "🔔", "tada": "🎉", "mag": "🔍", "page_facing_up": "📄", "stopwatch": "⏱",
}

_LINK = re.compile(r"<([^<>]+)>")
_EMOJI = re.compile(r":([a-z0-9_+-]+):")
_FENCE = re.compile(r"```(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Confirm:
    """A button's ``confirm`` object: the console asks y/n before sending the click."""

    title: str
    text: str
    yes: str
    no: str


@dataclass(frozen=True)
class Button:
    number: int
    label: str
    action_id: str
    value: str
    block_id: str
    style: str | None = None
    confirm: Confirm | None = None


@dataclass(frozen=True)
class Rendered:
    text: str
    buttons: list[Button]
    title: str | None  # the first header's text: a job card's name


def _link(m: re.Match[str]) -> str:
    inner = m.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):  # <@U123> or <@U123|name>
        return f"@{label or target[1:]}"
    if target.startswith("#"):  # <#C1> or <#C1|general>
        return f"#{label or target[1:]}"
    if target.startswith("!date^"):  # <!date^ts^format|fallback>: the fallback is already readable
        return label or target
    if target.startswith("!subteam^"):
        return f"@{label or target.split('^', 1)[1]}"
    if target.startswith("!"):  # <!here>, <!channel>
        return f"@{label or target[1:]}"
    return f"{label} ({target})" if label and label != target else target


def _emoji(m: re.Match[str]) -> str:
    return EMOJI.get(m.group(1), m.group(0))


def mrkdwn(text: str) -> str:
    """Slack's mrkdwn as plain terminal text: links, mentions and dates readable, code fences on their own lines."""
    # Fences first, so the code inside keeps its text (no emoji or link rewriting in code).
    out = ""
    for i, part in enumerate(_FENCE.split(text)):
        if i % 2:  # inside a fence (split keeps the captured group at odd indexes)
            out += ("\n" if out and not out.endswith("\n") else "") + f"```\n{html.unescape(part.strip(chr(10)))}\n```"
        elif part:
            part = html.unescape(_EMOJI.sub(_emoji, _LINK.sub(_link, part)))
            out += ("\n" if out.endswith("```") and not part.startswith("\n") else "") + part
    return out.strip("\n")


def _text(obj: Any) -> str:
    if isinstance(obj, dict):
        raw = str(obj.get("text", ""))
        return mrkdwn(raw) if obj.get("type") == "mrkdwn" else html.unescape(_EMOJI.sub(_emoji, raw))
    return str(obj or "")


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def _field(obj: Any) -> str:
    text = _text(obj)
    first, _, rest = text.partition("\n")
    # The bot's fields are "*Label*\nvalue": shown as "Label: value" on one line.
    label = first.strip()
    if rest and label.startswith("*") and label.endswith("*") and len(label) > 2:
        return f"{label[1:-1]}: {rest.replace(chr(10), ' ')}"
    return text.replace("\n", " ")


def _confirm(obj: Any) -> Confirm | None:
    if not isinstance(obj, dict):
        return None
    return Confirm(
        title=_text(obj.get("title")) or "Are you sure?",
        text=_text(obj.get("text")),
        yes=_text(obj.get("confirm")) or "Yes",
        no=_text(obj.get("deny")) or "No",
    )


def _rich_text(el: Any) -> str:
    """Flatten rich_text elements: enough to read them, not to style them."""
    if isinstance(el, list):
        return "".join(_rich_text(e) for e in el)
    if not isinstance(el, dict):
        return ""
    kind = el.get("type")
    if kind == "text":
        return str(el.get("text", ""))
    if kind == "user":
        return f"@{el.get('user_id', '')}"
    if kind == "channel":
        return f"#{el.get('channel_id', '')}"
    if kind == "link":
        return str(el.get("text") or el.get("url", ""))
    if kind == "emoji":
        return EMOJI.get(str(el.get("name", "")), f":{el.get('name', '')}:")
    if kind == "rich_text_preformatted":
        return f"\n```\n{_rich_text(el.get('elements', []))}\n```\n"
    inner = _rich_text(el.get("elements", []))
    return inner + "\n" if kind in ("rich_text_section", "rich_text_list", "rich_text_quote") else inner


def render_blocks(blocks: list[Block], fallback: str = "", first_number: int = 1) -> Rendered:
    """Render ``blocks`` (or ``fallback`` when there are none); buttons are numbered from ``first_number``."""
    lines: list[str] = []
    buttons: list[Button] = []
    title: str | None = None
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            text = _text(block.get("text"))
            title = title or text
            lines.append(f"=== {text} ===")
        elif kind == "section":
            if block.get("text"):
                lines.append(_text(block["text"]))
            for f in block.get("fields") or []:
                lines.append(_indent(_field(f)))
            accessory = block.get("accessory")
            if isinstance(accessory, dict) and accessory.get("type") == "button":
                buttons.append(_button(accessory, str(block.get("block_id", "")), first_number + len(buttons)))
                lines.append(_indent(_button_label(buttons[-1])))
        elif kind == "context":
            parts = [_text(el) if el.get("type") != "image" else "" for el in block.get("elements") or []]
            lines.append(_indent(" · ".join(p for p in parts if p)))
        elif kind == "actions":
            shown: list[str] = []
            for el in block.get("elements") or []:
                if el.get("type") == "button":
                    buttons.append(_button(el, str(block.get("block_id", "")), first_number + len(buttons)))
                    shown.append(_button_label(buttons[-1]))
            if shown:
                lines.append(_indent("   ".join(shown)))
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
        elif kind == "rich_text":
            lines.append(mrkdwn(_rich_text(block.get("elements", [])).strip("\n")))
    if not lines and fallback:
        lines.append(mrkdwn(fallback))
    return Rendered("\n".join(lines), buttons, title)


def _button(el: Block, block_id: str, number: int) -> Button:
    return Button(
        number=number,
        label=_text(el.get("text")),
        action_id=str(el.get("action_id", "")),
        value=str(el.get("value", "")),
        block_id=block_id,
        style=el.get("style"),
        confirm=_confirm(el.get("confirm")),
    )


def _button_label(b: Button) -> str:
    return f"[{b.number}] {b.label}" + (" (asks first)" if b.confirm else "")


def confirm_question(c: Confirm) -> str:
    """The y/n question a ``confirm`` object becomes."""
    text = f" {c.text}" if c.text else ""
    return f"{c.title}{text} [y = {c.yes} / n = {c.no}] "
