"""What a sentence's marked-up values mean: code spans, ``key=value`` words, a command after `--`.

A backticked token is a *value*: a job name, an image, or — only when it looks like one (it
starts with a program such as ``python``/``torchrun``/``bash``, or follows "command"/"run") — the
job's command. ``key=value`` words fill the field they name; other keys become environment
variables only after "env"/"--env". A sentence never yields a command the person did not
plainly write as one.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from bot.domain.actions import PRIORITIES, Priority
from bot.domain.durations import parse_duration
from bot.domain.language.numbers import GPU_TYPE
from bot.domain.language.scanner import Scanned, Token
from bot.domain.language.slash_args import FLAGS
from bot.domain.language.values import (
    PRIORITY_WORDS,
    STATE_WORDS,
    clock_duration,
    loose_duration,
    normalize_gpu_type,
    word_to_int,
)
from bot.domain.names import ENV_NAME, image_problem, job_name_problem
from bot.domain.resources import memory_problem

_PROGRAMS = frozenset({
    "python", "python3", "torchrun", "bash", "sh", "deepspeed", "accelerate", "srun", "mpirun", "horovodrun",
    "make", "node", "java", "julia", "uv", "pip", "conda", "nvidia-smi", "sleep", "echo",
})
_COMMAND_WORDS = frozenset({"command", "command:", "cmd", "cmd:", "exec", "execute", "entrypoint", "args"})

_KEYS: dict[str, str] = {
    **dict.fromkeys(("image", "img", "container", "docker"), "image"),
    **dict.fromkeys(("gpus", "gpu", "num_gpus", "n_gpus", "ngpus", "gpu_count", "count"), "gpus"),
    **dict.fromkeys(("type", "gpu_type", "gpu-type", "gputype", "gpu_model", "model_type", "accelerator"),
                    "gpu_type"),
    **dict.fromkeys(("nodes", "node", "num_nodes", "n_nodes", "nnodes"), "nodes"),
    **dict.fromkeys(("gpus_per_node", "gpus-per-node", "per_node"), "gpus_per_node"),
    **dict.fromkeys(("time", "walltime", "time_limit", "time-limit", "duration", "timeout", "limit"),
                    "time_limit_s"),
    **dict.fromkeys(("priority", "prio"), "priority"),
    **dict.fromkeys(("name", "job", "job_name", "job-name", "jobname"), "name"),
    **dict.fromkeys(("template", "tpl"), "template"),
    **dict.fromkeys(("tail", "lines"), "tail"),
    **dict.fromkeys(("memory", "mem", "ram"), "memory"),
    **dict.fromkeys(("cpus", "cpu", "cores"), "cpus"),
    **dict.fromkeys(("state", "status", "phase"), "state"),
    **dict.fromkeys(("scope", "whose", "owner"), "scope"),
}
_SCOPE_VALUES = {"mine": "mine", "me": "mine", "my": "mine", "team": "team", "ours": "team", "all": "all",
                 "everyone": "all", "cluster": "all"}
_PAIR = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)=(.*)$")
_IDENTITY_KEYS = frozenset({"namespace", "ns", "user", "user_id", "team", "owner", "as", "account", "uid", "group"})
_GRES = re.compile(r"gpu:(?:([a-z0-9_-]+):)?(\d{1,4})")
_ENV_MARK = re.compile(r"^-{0,2}(?:env|environment|envs|vars?|variables?)[:=]?$", re.I)


@dataclass
class Marked:
    """Values a sentence gave with markup, and the plain text left for the sentence rules."""

    plain: str
    names: list[str] = field(default_factory=list)  # backticked job names, in order
    image: str | None = None
    command: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    fields: dict[str, object] = field(default_factory=dict)  # from key=value words


def _looks_like_command(text: str, before: str) -> bool:
    first = text.split()[0] if text.split() else ""
    if before.lower() in _COMMAND_WORDS:
        return True
    if first in _PROGRAMS or first.startswith(("./", "/")) or re.search(r"\.(?:py|sh)$", first):
        return True
    return before.lower() == "run" and " " in text.strip()


def _argv(text: str) -> tuple[str, ...] | None:
    try:
        parts = shlex.split(text)
    except ValueError:
        parts = text.split()
    return tuple(parts) or None


def _previous_word(scanned: Scanned, tok: Token) -> str:
    before = [t.text for t in scanned.tokens if t.kind == "word" and t.end <= tok.start]
    return before[-1] if before else ""


def _field_value(key: str, raw: str) -> object | None:
    raw = raw.strip().strip("\"'").rstrip(".,;")
    if not raw:
        return None
    if key == "image":
        return raw if image_problem(raw) is None else None
    if key == "memory":
        return raw if memory_problem(raw) is None else None
    if key in ("gpus", "nodes", "tail", "cpus", "gpus_per_node"):
        n = word_to_int(raw)
        return n if n is not None and n > 0 else None
    if key == "gpu_type":
        return normalize_gpu_type(raw)
    if key == "time_limit_s":
        try:
            return parse_duration(raw)
        except ValueError:
            return loose_duration(raw) or clock_duration(raw)
    if key == "priority":
        p = PRIORITY_WORDS.get(raw.lower())
        return p if p in PRIORITIES else None
    if key == "state":
        return STATE_WORDS.get(raw.lower())
    if key == "scope":
        return _SCOPE_VALUES.get(raw.lower())
    if key == "name":
        low = raw.lower()
        return low if job_name_problem(low) is None else None
    return raw  # template: the policy knows which exist


_PLAIN_VERBS = frozenset({"stop", "cancel", "kill", "status", "logs", "list", "queue", "gpus", "help", "launch",
                          "start", "run", "submit", "usage"})
_GPU_TYPE_WORD = re.compile(rf"{GPU_TYPE}", re.I)


def plain_value(text: str) -> bool:
    """A code span that is only a word of the sentence: a verb, a GPU type, a number or a duration
    ("how many `h100` are free", "for `8h`", "`stop` `x-2`"); it is read as if not backticked."""
    t = text.strip()
    if not t or " " in t:
        return False
    if t.lower() in _PLAIN_VERBS or t.isdigit() or _GPU_TYPE_WORD.fullmatch(t):
        return True
    try:
        return parse_duration(t) > 0
    except ValueError:
        return clock_duration(t) is not None


def read_marked(scanned: Scanned, plain: str) -> Marked:
    """Take code spans, ``key=value`` words and a command after `--`/"command:" out of ``plain``."""
    out = Marked(plain)
    for tok in scanned.code():
        text = tok.text.strip()
        if tok.kind == "code" and plain_value(text):
            continue  # kept in the plain text by ``Scanned.plain(plain_value)``
        before = _previous_word(scanned, tok)
        if tok.kind == "block" or _looks_like_command(text, before):
            if out.command is None:
                out.command = _argv(text)
        elif image_problem(text) is None and ("/" in text or ":" in text):
            out.image = out.image or text
        elif job_name_problem(text.lower()) is None:
            out.names.append(text.lower())
    env_after = False
    words = scanned.words()
    for i, tok in enumerate(words):
        if tok.text in ("-N", "--nodes", "--gpus-per-node") and i + 1 < len(words) and words[i + 1].text.isdigit():
            # Slurm's "-N 2" (nodes) and "--gpus-per-node 8", written with a space
            out.fields.setdefault("nodes" if tok.text != "--gpus-per-node" else "gpus_per_node", int(words[i + 1].text))
            out.plain = re.sub(rf"(?<!\S){re.escape(tok.text)}\s+{words[i + 1].text}(?!\S)", " ", out.plain, count=1)
            continue
        if _ENV_MARK.match(tok.text):
            env_after = True
            continue
        pair = tok.pair
        if pair is None:
            continue
        key, value = pair
        if key.lower() == "gres" and (gres := _GRES.fullmatch(value.strip().lower())):
            # Slurm's generic resources: gpu:N or gpu:TYPE:N
            out.fields.setdefault("gpus_per_node", int(gres.group(2)))  # Slurm's gres counts each node's
            if gres.group(1):
                out.fields.setdefault("gpu_type", normalize_gpu_type(gres.group(1)))
            out.plain = re.sub(rf"(?<!\S){re.escape(tok.text)}(?!\S)", " ", out.plain, count=1)
            continue
        if key.lower().replace("-", "_") in _IDENTITY_KEYS:
            # namespace=, user=, team=: who and where come from the signed request, never the text
            out.plain = re.sub(rf"(?<!\S){re.escape(tok.text)}(?!\S)", " ", out.plain, count=1)
            continue
        mapped = _KEYS.get(key.lower().replace("-", "_")) or _KEYS.get(key.lower())
        if mapped and not (env_after and key.isupper()):
            got = _field_value(mapped, value)
            if got is None:
                continue
            out.fields.setdefault(mapped, got)
        elif env_after and ENV_NAME.fullmatch(key):
            out.env[key] = value.strip("\"'").rstrip(".,;")
        else:
            continue
        out.plain = re.sub(rf"(?<!\S){re.escape(tok.text)}(?!\S)", " ", out.plain, count=1)
    if out.env:
        out.plain = re.sub(r"\b(?:with\s+)?(?:env|environment)(?:\s+var(?:iable)?s?)?\b:?", " ", out.plain,
                           flags=re.I)
    m = re.search(r"(?:^|\s)--\s+(\S.*)$|\b(?:command|cmd)\s*:\s*(\S.*)$|\brun\s+the\s+command\s+(\S.*)$",
                  out.plain, re.I)
    if m and out.command is None:
        out.command = _argv(m.group(1) or m.group(2) or m.group(3))
        out.plain = out.plain[: m.start()]
    return out


def as_priority(value: object) -> Priority | None:
    return "low" if value == "low" else "normal" if value == "normal" else "high" if value == "high" else None


_FIELD_FLAGS = {"image": "--image", "gpus": "--gpus", "gpu_type": "--gpu-type", "nodes": "--nodes",
                "time_limit_s": "--time", "priority": "--priority", "template": "--template", "memory": "--memory",
                "cpus": "--cpus", "tail": "--tail", "state": "--state"}


def pairs_as_flags(sub: str, words: list[str]) -> list[str]:
    """A command's ``key=value`` words naming one of its fields, as that field's flag ("gpus=4" →
    ``--gpus 4``; "name=x" → the name). A flag's own value (``--env K=V``) and the job's command stay."""
    flags = FLAGS.get(sub, {})
    out: list[str] = []
    after_flag = False
    for i, w in enumerate(words):
        if w == "--":
            return [*out, *words[i:]]
        m = _PAIR.match(w) if not w.startswith("-") and not after_flag and i > 0 else None
        after_flag = bool(flags.get(w.partition("=")[0])) and "=" not in w
        mapped = _KEYS.get(m.group(1).lower().replace("-", "_")) if m else None
        if m is None or mapped is None or not m.group(2):
            out.append(w)
        elif mapped == "name" and sub in ("launch", "status", "logs", "stop"):
            out.append(m.group(2))
        elif mapped == "scope" and "--all" in flags and _SCOPE_VALUES.get(m.group(2).lower()):
            out.append("--" + _SCOPE_VALUES[m.group(2).lower()])
        elif _FIELD_FLAGS.get(mapped) in flags:
            out += [_FIELD_FLAGS[mapped], m.group(2)]
        else:
            out.append(w)
    return out
