"""A `/gpu` line with one bad flag is refused with a fix, and the fix parses (it is checked, not guessed)."""

from __future__ import annotations

import html
import random

import pytest

from bot.domain.errors import ParseError, ValidationError
from bot.domain.language.slash import parse_command

GOOD = [
    "launch llama --image ghcr.io/acme/train:1.4 --gpus 8 --gpu-type h100 --time 6h --priority high",
    "launch bert --image ghcr.io/acme/train:1.4 --gpus 16 --nodes 2 --gpu-type h100 --memory 256Gi --cpus 32",
    "logs llama --tail 50",
    "list --state running",
    "stop --mine --state queued",
    "audit --days 3",
    "history --days 7 --state failed",
    "report --since 30d --by team",
]
JUNK = ["abc", "0.5", "-", "lots", "???", "1e9x", "h100h100", "<b>"]


@pytest.mark.parametrize("line", [
    "logs llama --tail abc", "list --state bogus", "audit --days abc", "logs x --tail",
    "launch x --image ghcr.io/a/b:1 --gpus 1 --gpu-type h100 --memory lots",
    "launch x --image ghcr.io/a/b:1 --gpus 1 --gpu-type h100 --cpus 0.5",
    "launch x --image ghcr.io/a/b:1 --gpus 1 --gpu-type h100 --frobnicate",
    "launch x --image ghcr.io/a/b:1 --gpus 1 --gpu-type h100 --frobnicate yes",
    "launch x --image 'bad image!' --gpus 1 --gpu-type h100",
])  # fmt: skip
def test_a_bad_flag_is_refused_with_a_fix_that_parses(line: str) -> None:
    with pytest.raises((ParseError, ValidationError)) as err:
        parse_command(line)
    fix = err.value.fix
    assert isinstance(fix, str) and fix.startswith("/gpu "), (line, fix)
    parse_command(html.unescape(fix))  # raises if the fix itself is refused


def test_one_flag_value_replaced_by_junk_always_gets_a_working_fix() -> None:
    rng = random.Random(7)
    refused = 0
    for _ in range(300):
        words = rng.choice(GOOD).split()
        flags = [i for i, w in enumerate(words) if w.startswith("--") and i + 1 < len(words)
                 and not words[i + 1].startswith("--")]
        i = rng.choice(flags)
        words[i + 1] = rng.choice(JUNK)
        line = " ".join(words)
        try:
            parse_command(line)
        except (ParseError, ValidationError) as err:
            refused += 1
            assert isinstance(err.fix, str), line
            parse_command(html.unescape(err.fix))
    assert refused > 150  # the junk was mostly junk: the test saw refusals, not only accepted lines
