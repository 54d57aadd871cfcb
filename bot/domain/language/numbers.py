"""Quantities in sentences: numbers in words, durations, GPU counts/types/nodes, log tail length.

Each ``take_*`` function returns what it found and the text with that span blanked out, so later
rules (job names) do not mistake "8x" or "12h" for a name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.language.values import UNIT_WORD, WORD_NUMBERS, clock_duration, normalize_gpu_type, unit_seconds
from bot.domain.resources import memory_problem

_NUM_WORDS = "|".join(sorted(WORD_NUMBERS, key=len, reverse=True))
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_UNITS_1_9 = "one|two|three|four|five|six|seven|eight|nine"
_GPU_MODEL = r"(?:a100|h100|h200|b200|l40s|a10g|l4|t4|v100)"
GPU_TYPE = rf"(?:nvidia\s+)?{_GPU_MODEL}(?:[-\s]?(?:sxm\d?|pcie|nvl|\d+\s?gb))*s?"
_TYPE_RE = re.compile(rf"(?<![\w-]){GPU_TYPE}(?![\w-])")

# Phrases first (longest wins), then single words; "a"/"an" count only before a countable noun.
_PHRASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bhalf\s+an?\s+hour\b"), "30 minutes"),
    (re.compile(r"\bhalf\s+a\s+day\b"), "12 hours"),
    (re.compile(r"\bovernight\b"), "12 hours"),
    (re.compile(r"\ba\s+couple\s+(?:of\s+)?"), "2 "),
    (re.compile(r"\ba\s+pair\s+of\s+"), "2 "),
    (re.compile(r"\bhalf\s+a\s+dozen\b"), "6"),
    (re.compile(rf"(?<![\w-])({_TENS})[\s-]({_UNITS_1_9})(?![\w-])"), "<tens>"),
    (re.compile(r"(?<![\w-])a\s+single\b"), "1"),
    (re.compile(r"(?<![\w-])(?:a|an|one)\s+(?=(?:gpu|node|hour|day|week|minute|" + _GPU_MODEL + r"))"), "1 "),
]
_WORD = re.compile(rf"(?<![\w-])({_NUM_WORDS})(?![\w-])")
_AND_HALF = re.compile(r"(\d+)\s+and\s+a\s+half\s+(" + UNIT_WORD + r")\b")


def digits_for_words(low: str) -> str:
    """ "eight h100s for two and a half hours" → "8 h100s for 2.5 hours"."""
    for pat, rep in _PHRASES:
        if rep == "<tens>":
            low = pat.sub(lambda m: str(WORD_NUMBERS[m.group(1)] + WORD_NUMBERS[m.group(2)]), low)
        else:
            low = pat.sub(rep, low)
    low = _WORD.sub(lambda m: str(WORD_NUMBERS[m.group(1)]), low)
    return _AND_HALF.sub(lambda m: f"{m.group(1)}.5 {m.group(2)}", low)


def _blank(text: str, m: re.Match[str]) -> str:
    return text[: m.start()] + " " + text[m.end() :]


# Compact forms (12h, 1h30m, 1.5h) and spelled ones (6 hours, 1 hour 30 minutes).
_TIGHT = re.compile(r"(?<![\w.-])((?:\d+(?:\.\d+)?[wdhms])+)(?![\w-])")
_TIGHT_PART = re.compile(r"(\d+(?:\.\d+)?)([wdhms])")
_SPELLED_PART = rf"(\d+(?:\.\d+)?)[\s-]*({UNIT_WORD})(?![\w-])"  # "6 hours", "6-hour"
_SPELLED = re.compile(
    rf"(?<![\w.-]){_SPELLED_PART}(?:,?\s*(?:and\s+)?(\d+(?:\.\d+)?)\s*({UNIT_WORD})(?![\w-]))?"
)


# "-t 01:30:00", "--time 2-00:00:00", "time limit 8:00": Slurm's clock form, after a word naming a time
_CLOCK_AFTER = re.compile(
    r"(?:(?<!\S)-t|--time|\btime(?:\s+limit)?|\bwalltime|\blimit)\s*[:=]?\s*((?:\d{1,3}-)?\d{1,3}:\d{2}(?::\d{2})?)(?![\w:])"
)


def take_duration(low: str) -> tuple[int | None, str]:
    c = _CLOCK_AFTER.search(low)
    if c and (secs_c := clock_duration(c.group(1))):
        return secs_c, _blank(low, c)
    m = _TIGHT.search(low)
    if m:
        secs = sum(float(n) * unit_seconds(u) for n, u in _TIGHT_PART.findall(m.group(1)))
        if secs > 0:
            return round(secs), _blank(low, m)
    m = _SPELLED.search(low)
    if m:
        secs = float(m.group(1)) * unit_seconds(m.group(2))
        if m.group(3):
            secs += float(m.group(3)) * unit_seconds(m.group(4))
        if secs > 0:
            return round(secs), _blank(low, m)
    return None, low


@dataclass
class GpuSpec:
    gpus: int | None = None
    gpu_type: str | None = None
    nodes: int | None = None


_N = r"(\d{1,4})"
_NODES_WORD = r"(?:nodes?|machines?|hosts?|servers?|boxes)"
_GPU_NOUN = rf"(?:(?:x\s*)?({GPU_TYPE})(?:\s+gpus?|\s+cards?)?|gpus?|cards?)"
_EACH = (
    r"(?:\s+(?:each|apiece|a\s+piece|per[\s-]node|a\s+node|per\s+(?:machine|host|box|server)|on\s+each|each\s+node))"
)
# "24 a100 in total": the count is the whole job's, not per node.
_TOTAL = re.compile(r"\s*(?:gpus?\s+)?(?:in\s+total|total|overall|altogether|in\s+all|combined|all\s+together)\b")
_PER_NODE = re.compile(r"\b(?:each|apiece|a\s+piece|per[\s-](?:node|machine|host|box|server)|a\s+node|on\s+each)\b")
# "2 nodes with 8 GPUs each", "2 nodes x 8 h100", "4 nodes of 8 gpus"
_NODES_THEN_GPUS = re.compile(
    rf"{_N}\s*{_NODES_WORD}\s*(?:,\s*)?(with|of|x|×|\*|having|and)?\s*{_N}\s*[x×]?\s*{_GPU_NOUN}({_EACH})?"
)
# "8 GPUs per node on 2 nodes", "32 H100s across 4 nodes"
_GPUS_THEN_NODES = re.compile(
    rf"{_N}\s*[x×]?\s*{_GPU_NOUN}({_EACH})?\s*(?:,\s*)?(?:across|on|over|in|using|spread\s+over|x|×)\s+"
    rf"{_N}\s*{_NODES_WORD}"
)
_NXM = re.compile(rf"(?<![\w.])(\d{{1,3}})\s*[x×]\s*(\d{{1,3}})\s*{_GPU_NOUN}")  # "2x8 H100"
_GPUS = re.compile(rf"(?<![\w.-]){_N}(?:\s*[x×]|-)?\s*{_GPU_NOUN}(?![\w-])")
_TYPE_X_N = re.compile(rf"(?<![\w-])({GPU_TYPE})\s*[x×]\s*{_N}(?![\w.-])")  # "h100x8", "A100 x 4"
# "two 8-gpu h100 nodes": nodes, then the GPUs of each
_NODES_OF = re.compile(
    rf"(?<![\w.-]){_N}\s+{_N}[\s-]*(?:gpus?|cards?)[\s-]*(?:({GPU_TYPE})\s+)?{_NODES_WORD}(?![\w-])"
)
_NODES = re.compile(rf"(?<![\w.-]){_N}[\s-]*{_NODES_WORD}(?![\w-])")
# "2 nodes of 8", "3 machines x 4 each": the second count is GPUs per node even without the noun.
_NODES_OF_BARE = re.compile(
    rf"(?<![\w.-]){_N}\s*{_NODES_WORD}\s*(?:of|x|×|with)\s*{_N}(?:\s+(?:each|apiece|a\s+piece))?(?![\w.-])"
    r"(?!\s*(?:h\b|hrs?\b|hours?|m\b|mins?\b|minutes?|d\b|days?|gb|gi|weeks?))"
)
# "16 h100s (2x8)": a bare NxM after the count is its nodes × GPUs per node.
_BARE_NXM = re.compile(r"(?<![\w.])\(?(\d{1,3})\s*[x×]\s*(\d{1,3})\)?(?![\w.])")
_GPUS_COLON = re.compile(r"\bgpus?\s*(?:[:=]|count\s+of|count)?\s*(\d{1,4})\b(?!\s*(?:x|×|nodes?|h\b|hours?|m\b|min))")


def take_gpu_spec(low: str) -> tuple[GpuSpec, str]:
    spec = GpuSpec()
    m = _NODES_THEN_GPUS.search(low)
    if m:
        nodes, per = int(m.group(1)), int(m.group(3))
        # After the node count, "with 8 GPUs" is per node, unless it says "in total"; "4 nodes, 32 gpus"
        # and "2 nodes and 16 h100s" list the total (when it splits evenly over the nodes).
        listed = m.group(2) in (None, "and") and not m.group(5) and per >= nodes and per % nodes == 0
        total = listed or (not m.group(5) and _TOTAL.match(low, m.end()))
        spec.nodes, spec.gpus = nodes, per if total else per * nodes
        spec.gpu_type = normalize_gpu_type(m.group(4)) if m.group(4) else None
        low = _blank(low, m)
    else:
        m = _GPUS_THEN_NODES.search(low)
        if m:
            count, nodes = int(m.group(1)), int(m.group(4))
            spec.nodes, spec.gpus = nodes, count * nodes if m.group(3) else count
            spec.gpu_type = normalize_gpu_type(m.group(2)) if m.group(2) else None
            low = _blank(low, m)
        else:
            m = _NXM.search(low) or _NODES_OF.search(low) or _NODES_OF_BARE.search(low)
            if m:
                spec.nodes, spec.gpus = int(m.group(1)), int(m.group(1)) * int(m.group(2))
                spec.gpu_type = normalize_gpu_type(m.group(3)) if m.re.groups >= 3 and m.group(3) else None
                low = _blank(low, m)
    if spec.gpus is None:
        m = _GPUS.search(low) or _GPUS_COLON.search(low)
        if m:
            spec.gpus = int(m.group(1))
            if m.re is _GPUS and m.group(2):
                spec.gpu_type = normalize_gpu_type(m.group(2))
            low = _blank(low, m)
        elif t := _TYPE_X_N.search(low):
            spec.gpus, spec.gpu_type = int(t.group(2)), normalize_gpu_type(t.group(1))
            low = _blank(low, t)
    if spec.nodes is None and (m := _BARE_NXM.search(low)):
        nodes, per = int(m.group(1)), int(m.group(2))
        if spec.gpus in (None, nodes * per):
            spec.nodes, spec.gpus = nodes, nodes * per
            low = _blank(low, m)
    if spec.nodes is None:
        m = _NODES.search(low)
        if m:
            spec.nodes = int(m.group(1))
            low = _blank(low, m)
            if _PER_NODE.search(low) and spec.gpus:
                spec.gpus *= spec.nodes
    if spec.gpu_type is None:
        m = _TYPE_RE.search(low)
        if m:
            spec.gpu_type = normalize_gpu_type(m.group(0))
            low = _blank(low, m)
    return spec, low


_TAIL = re.compile(r"(?:\blast\s+(\d{1,6})\b|(?<![\w.-])(\d{1,6})\s+lines\b|\btail\s+(?:-n\s*)?(\d{1,6})\b)")


def take_tail(low: str) -> tuple[int | None, str]:
    m = _TAIL.search(low)
    if not m:
        return None, low
    n = int(next(g for g in m.groups() if g))
    return (n if n > 0 else None), _blank(low, m)


# "16 cpus", "64Gi of memory", "memory 128GB": per-node resources said in prose
_CPUS = re.compile(r"(?<![\w.-])(\d{1,4})\s*(?:v?cpus?|cores?|cpu\s+cores)(?![\w-])")
_MEMORY = re.compile(
    r"(?<![\w.-])(\d{1,5}(?:\.\d+)?\s*(?:[kmgt]i?b?))\s+(?:of\s+)?(?:memory|ram|mem)\b|"
    r"\b(?:memory|ram|mem)\s*(?:of\s+)?(\d{1,5}(?:\.\d+)?\s*(?:[kmgt]i?b?))(?![\w-])"
)


def take_resources(low: str) -> tuple[dict[str, object], str]:
    out: dict[str, object] = {}
    m = _CPUS.search(low)
    if m:
        out["cpus"] = int(m.group(1))
        low = _blank(low, m)
    m = _MEMORY.search(low)
    if m:
        raw = (m.group(1) or m.group(2)).replace(" ", "")
        raw = raw[:-1].upper() + raw[-1] if raw.lower().endswith("i") else raw.upper()
        problem = memory_problem(raw)
        value = raw if problem is None else problem[1]
        if value:
            out["memory"] = value
            low = _blank(low, m)
    return out, low
