"""Verbs as people type them: slips of one or two letters, and Slurm's verbs, made canonical.

Runs on the lower-cased plain text before the intent rules, so "stpo bert-x", "lgos of clip-7"
and "scancel bert-x" read like "stop", "logs" and "cancel". A word is corrected only when it is
not itself a word the rules know, and exactly one verb is that close.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.domain.language.entities import VOCAB
from bot.domain.language.fuzzy import closest
from bot.domain.language.values import PRIORITY_WORDS, STATE_WORDS, WORD_NUMBERS

# The verbs and nouns the intent rules key on; a slip of one of these is read as it.
TARGETS: tuple[str, ...] = (
    "launch", "start", "submit", "train", "stop", "cancel", "kill", "terminate", "abort", "delete",
    "remove", "status", "logs", "list", "show", "queue", "jobs", "gpus", "progress", "running", "finished",
    "help", "failed", "pending", "queued", "available", "how",
)  # fmt: skip
# English words a slip-correction must leave alone (each is one or two edits from a target).
_KEEP = frozenset(
    """
    top step shop star stat stats kit ill lot lots long logo last least lust lost host most post cost
    still shown snow slow show stow store stone sort short tart tail train trains rain gain grain brain
    drain plain sail fail mail lunch launched lunches bunch punch hunch statue stature states status
    kind kill skill till will bill fill mill hill job jobs lobs mobs knobs robs gods dogs cogs hogs jogs
    bogs fogs sogs started starts staring starting stars remote removed removes renove delta deleted
    submitted submits summit terminal terminus terminated abort aborted about above adopt lift lists
    listed listen least cue queen queued queues quite quiet quit gnus guns gaps gasps plus bus buses
    gpu node nodes image images team teams mine mind mint midst pint print prints dump done dome
    training trained trainer trainers then than that what when where which while whom whose shall
    finish finishes succeed succeeds fails failing complete completes going gone wipe clear
    dequeue unqueue enqueue nuke purge flush halt evict preempt scrap stack track trace stuck smart black
    slack snack stark start stats hows shows looks looking loss losses lose toss boss gloss logo lags legs
    lugs stop steps help held hold heap hell helm halt yelp kelp whelp helps hemp heal cpus cpu vcpus cores
    mem ram filed fined fades faded spending bending tending ending lending mending sending vending pendant
    quested queues queue's row cow tow wow bow mow sow vow hot hop hoe hew hoot hows howl ho who two
    """.split()  # noqa: SIM905 - a word list reads better as text
)
_KNOWN = VOCAB | _KEEP | frozenset(WORD_NUMBERS) | frozenset(PRIORITY_WORDS) | frozenset(STATE_WORDS)

# Slurm's verbs, for people who come from a Slurm cluster.
_SLURM: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bsqueue\s+(?:--me\b|-u\s+(?:me|\$user|myself)\b|--user[= ](?:me|\$user)\b)"), "list my jobs"),
    (re.compile(r"\bsqueue\b"), "queue"),
    (re.compile(r"\bscancel\s+(?:--me\b|-u\s+(?:me|\$user|myself)\b|--user[= ](?:me|\$user)\b)(?!.*--state)"),
     "cancel all my jobs"),
    (re.compile(r"\bscancel\b"), "cancel"),
    (re.compile(r"\bsinfo\b"), "free gpus"),
    (re.compile(r"\bsbatch\b"), "submit"),
    (re.compile(r"\bsacct\b"), "history"),  # Slurm's accounting of finished jobs
    (re.compile(r"\bsrun\b(?=\s+(?!-)[a-z])"), "run"),
)
SLURM_VERBS = frozenset({"squeue", "scancel", "sinfo", "sbatch", "sacct"})
_WORD = re.compile(r"(?<![\w./:=-])([a-z]{3,12})(?![\w/:=-])")


def canonical_verbs(low: str) -> str:
    """``low`` with Slurm verbs and slips of the intent words replaced by the words themselves."""
    if "s" in low:
        for pat, rep in _SLURM:
            low = pat.sub(rep, low)

    return _WORD.sub(lambda m: _corrected(m.group(1)), low)


@lru_cache(maxsize=4096)
def _corrected(word: str) -> str:
    if word in _KNOWN or word in TARGETS:
        return word
    # One slip (a swap, a missing or extra letter) in a short word; two only in a long one.
    hit = closest(word, TARGETS, 1 if len(word) <= 7 else 2)
    if hit is None and len(word) >= 5:
        # Letters typed in the wrong order ("qeueu", "satuts"): the same letters, two swaps away.
        same = [t for t in TARGETS if sorted(t) == sorted(word) and closest(word, (t,), 2)]
        hit = same[0] if len(same) == 1 else None
    return hit or word
