"""A log tail in a reply: whole lines only, over as many code blocks as one message comfortably holds.

Pure. The newest lines are kept; a cut never falls inside a line (a line too long for a section is
clipped with "…"), and the caller learns whether everything was shown, so a file is sent only when
the log really does not fit.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.domain.clipping import clip

MAX_SECTION = 2900
SECTIONS = 4  # code blocks per reply: ~11,000 characters, well inside a message's size
FENCES = 8  # the ``` before and after, and a newline


@dataclass(frozen=True)
class LogFit:
    chunks: list[list[str]]  # the lines of each code block, oldest first
    shown: int  # lines shown (whole or clipped)
    total: int
    complete: bool  # every line shown in full


def fit_lines(text: str, budget: int = MAX_SECTION - FENCES - 100, sections: int = SECTIONS) -> LogFit:
    """The newest whole lines of ``text`` that fit in ``sections`` blocks of ``budget`` characters."""
    lines = text.split("\n") if text else []
    out: list[list[str]] = []
    current: list[str] = []
    size = 0
    clipped = False
    full = True
    for line in reversed(lines):
        shown = clip(line, budget)
        clipped = clipped or shown != line
        if current and size + len(shown) + 1 > budget:
            out.append(current)
            current, size = [], 0
            if len(out) == sections:
                full = False
                break
        current.append(shown)
        size += len(shown) + 1
    if full and current:
        out.append(current)
    chunks = [list(reversed(c)) for c in reversed(out)]
    shown_count = sum(len(c) for c in chunks)
    return LogFit(chunks, shown_count, len(lines), shown_count == len(lines) and not clipped)


def log_blocks(title: str, fit: LogFit, note: str | None = None) -> list[Block]:
    head = f"*{title}*" + (f"\n{note}" if note else "")
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=clip(head, MAX_SECTION)))]
    for chunk in fit.chunks:
        body = "\n".join(chunk)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"```{body}```")))
    return blocks
