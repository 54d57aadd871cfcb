"""NL eval: accuracy of ``parse()`` on the shared and project utterance sets, misses, latency.

Also: the follow-up set (``tests/nl/followups.jsonl``: a first message, then a reply in the same
conversation) through the understanding service with the rules alone, and the latency that service
adds. ``--llm`` scores the sets through the LLM parser of ``CHATOPS_LLM`` / ``CHATOPS_LLM_BASE_URL``.

Run: ``.venv/bin/python tests/bench/nl_eval.py`` (``make eval``). Exit 0 unless a set is missing.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bot.domain.actions import to_dict  # noqa: E402
from bot.domain.errors import ParseError  # noqa: E402
from bot.domain.language.parsing import parse  # noqa: E402

SHARED = ROOT.parent / "shared/nl-eval/utterances.jsonl"
SHARED_COPY = ROOT / "tests/nl/shared_utterances.jsonl"
PROJECT = ROOT / "tests/nl/utterances.jsonl"
FOLLOWUPS = ROOT / "tests/nl/followups.jsonl"
REPEAT = 50


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def got_for(text: str) -> dict[str, Any]:
    try:
        return to_dict(parse(text).action)
    except ParseError as e:
        return {"action": "parse_error", "why": e.why, "fix": e.fix}


def score(name: str, rows: list[dict[str, Any]]) -> None:
    misses = []
    for row in rows:
        got = got_for(row["text"])
        if any(got.get(k) != v for k, v in row["expect"].items()):
            misses.append((row["text"], row["expect"], got))
    ok = len(rows) - len(misses)
    print(f"{name}: {ok}/{len(rows)} = {100.0 * ok / max(1, len(rows)):.1f}%")
    for text, expect, got in misses:
        shown = {k: got.get(k) for k in expect} | {"action": got.get("action")}
        print(f"  MISS {text!r}\n    expected {expect}\n    got      {shown}")


def latency(texts: list[str]) -> None:
    samples: list[int] = []
    for _ in range(REPEAT):
        for text in texts:
            t0 = time.perf_counter_ns()
            with contextlib.suppress(ParseError):
                parse(text)
            samples.append(time.perf_counter_ns() - t0)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(0.99 * len(samples)))]
    print(
        f"latency over {len(samples)} parses: median {statistics.median(samples) / 1000:.1f} µs, "
        f"p99 {p99 / 1000:.1f} µs, max {samples[-1] / 1000:.1f} µs"
    )


def cli_check(rows: list[dict[str, Any]]) -> None:
    exe = shutil.which("chatops")
    if not exe:
        print("chatops not on PATH: CLI check skipped")
        return
    bad = 0
    for row in rows[:5]:
        proc = subprocess.run(
            [exe, "parse", row["text"], "--json"], capture_output=True, text=True, timeout=60
        )
        try:
            same = json.loads(proc.stdout) == got_for(row["text"])
        except json.JSONDecodeError:
            same = False
        bad += not same
    print(f"chatops parse --json agrees with parse() on {5 - bad}/5 sentences")


class DictStore:
    """The conversation store's interface, in memory (the eval needs no Redis)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    def get(self, conversation: str) -> dict[str, Any] | None:
        return self.data.get(conversation)

    def put(self, conversation: str, action: dict[str, Any]) -> None:
        self.data[conversation] = action

    def clear(self, conversation: str) -> None:
        self.data.pop(conversation, None)


def understood(u: Any, text: str, thread: str) -> dict[str, Any]:
    try:
        got = u.understand("UEVAL001", "CEVAL0001", text, thread)
    except ParseError as e:
        return {"action": "parse_error", "why": e.why}
    return to_dict(got.action) if got.action is not None else {"action": "noop"}


def score_followups(rows: list[dict[str, Any]]) -> None:
    from bot.services.understanding import Understanding

    u = Understanding(DictStore(), lambda user: ["llama-ft", "bert-base"])
    misses = []
    for i, row in enumerate(rows):
        thread = f"T{i}"
        if row.get("context"):
            understood(u, row["context"], thread)
        got = understood(u, row["text"], thread)
        if any(got.get(k) != v for k, v in row["expect"].items()):
            misses.append((row, got))
    ok = len(rows) - len(misses)
    print(f"follow-ups ({FOLLOWUPS.relative_to(ROOT)}): {ok}/{len(rows)} = {100.0 * ok / max(1, len(rows)):.1f}%")
    for row, got in misses:
        shown = {k: got.get(k) for k in row["expect"]} | {"action": got.get("action")}
        print(f"  MISS {row['context']!r} → {row['text']!r}\n    expected {row['expect']}\n    got      {shown}")


def service_latency(texts: list[str]) -> None:
    """The rules path through the understanding service (context read and write included)."""
    from bot.services.understanding import Understanding

    u = Understanding(DictStore(), lambda user: [])
    samples: list[int] = []
    for _ in range(REPEAT // 5):
        for i, text in enumerate(texts):
            t0 = time.perf_counter_ns()
            understood(u, text, f"T{i % 7}")
            samples.append(time.perf_counter_ns() - t0)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(0.99 * len(samples)))]
    print(f"understanding service, rules only, over {len(samples)} requests: median "
          f"{statistics.median(samples) / 1000:.1f} µs, p99 {p99 / 1000:.1f} µs")


def score_llm(sets: dict[str, list[dict[str, Any]]]) -> None:
    import os

    from bot.adapters.llm import LLMParser
    from bot.services.understanding import Understanding

    model = os.environ.get("CHATOPS_LLM")
    if not model:
        print("--llm: CHATOPS_LLM is not set; skipped")
        return
    u = Understanding(None, lambda user: [], LLMParser.from_settings(model, os.environ.get("CHATOPS_LLM_BASE_URL")))
    for name, rows in sets.items():
        sources: dict[str, int] = {}
        ok = 0
        for row in rows:
            got = u.understand("UEVAL001", "CEVAL0001", row["text"])
            sources[got.source] = sources.get(got.source, 0) + 1
            d = to_dict(got.action) if got.action is not None else {"action": "noop"}
            ok += all(d.get(k) == v for k, v in row["expect"].items())
        print(f"LLM {model} on {name}: {ok}/{len(rows)} = {100.0 * ok / max(1, len(rows)):.1f}% (sources {sources})")


def main() -> int:
    shared = SHARED if SHARED.exists() else SHARED_COPY
    if not shared.exists() or not PROJECT.exists():
        print(f"missing utterance file: {shared if not shared.exists() else PROJECT}", file=sys.stderr)
        return 1
    sets = {f"shared ({shared})": load(shared), f"project ({PROJECT.relative_to(ROOT)})": load(PROJECT)}
    for name, rows in sets.items():
        score(name, rows)
    latency([row["text"] for rows in sets.values() for row in rows])
    if FOLLOWUPS.exists():
        score_followups(load(FOLLOWUPS))
    service_latency([row["text"] for rows in sets.values() for row in rows])
    if "--llm" in sys.argv:
        score_llm(sets)
    if "--cli" in sys.argv:
        cli_check(next(iter(sets.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
