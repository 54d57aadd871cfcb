"""NL eval: accuracy of ``parse()`` on the shared and project utterance sets, misses, latency.

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

from bot.core.actions import to_dict  # noqa: E402
from bot.core.errors import ParseError  # noqa: E402
from bot.core.parsing import parse  # noqa: E402

SHARED = ROOT.parent / "shared/nl-eval/utterances.jsonl"
SHARED_COPY = ROOT / "tests/nl/shared_utterances.jsonl"
PROJECT = ROOT / "tests/nl/utterances.jsonl"
REPEAT = 50


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def got_for(text: str) -> dict[str, Any]:
    try:
        return to_dict(parse(text))
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


def main() -> int:
    shared = SHARED if SHARED.exists() else SHARED_COPY
    if not shared.exists() or not PROJECT.exists():
        print(f"missing utterance file: {shared if not shared.exists() else PROJECT}", file=sys.stderr)
        return 1
    sets = {f"shared ({shared})": load(shared), f"project ({PROJECT.relative_to(ROOT)})": load(PROJECT)}
    for name, rows in sets.items():
        score(name, rows)
    latency([row["text"] for rows in sets.values() for row in rows])
    if "--cli" in sys.argv:
        cli_check(next(iter(sets.values())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
