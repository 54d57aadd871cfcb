"""Rule-based sentence → Action: deterministic, no I/O, well under a millisecond per sentence.

Pipeline, on the scanner's tokens (``scanner.py``): take out what has its own syntax (code spans,
``key=value`` words, images, env pairs; ``marked.py``) → drop identity/injection phrases → verb slips
and Slurm verbs made canonical (``verbs.py``) → numbers in words to digits → take out quantities →
decide the intent by evidence, with job names hidden → fill that action's fields. Anything unclear
becomes a ``Clarify`` question; two readings are offered as the two exact commands.
"""

from __future__ import annotations

import dataclasses
import re

from bot.domain import messages as msg
from bot.domain.actions import (
    JOB_STATES,
    Action,
    Clarify,
    Gpus,
    Help,
    JobState,
    Launch,
    ListJobs,
    Logs,
    Queue,
    Scope,
    Status,
    Stop,
    Usage,
)
from bot.domain.language.alternatives import asks_should_i, undecided
from bot.domain.language.entities import (
    find_scope,
    find_state,
    is_injection,
    is_strong_name,
    job_names,
    marked_names,
    name_ok,
    strip_identity,
    take_image,
    take_priority,
    take_template,
)
from bot.domain.language.intents import WHO_USES, also_launch, detect, is_danger
from bot.domain.language.marked import as_priority, plain_value, read_marked
from bot.domain.language.numbers import (
    GpuSpec,
    digits_for_words,
    take_duration,
    take_gpu_spec,
    take_resources,
    take_tail,
)
from bot.domain.language.scanner import Scanned, scan
from bot.domain.language.slash import to_command
from bot.domain.language.slurm_sentences import slurm_sentence
from bot.domain.language.values import STATE_WORDS
from bot.domain.language.verbs import canonical_verbs

_LAUNCH_VERB = re.compile(
    r"\b(?:launch|start|run|train|fine[\s-]?tune|finetune|submit|kick\s+off|spin\s+up|schedule|create|fire\s+(?:up|off)|"
    r"get|boot\s+up|queue\s+up)"
    r"(?:\s+(?:the|a|an|my|new|job|training|run|up|off))*\s+[\"']?([a-z0-9][a-z0-9._-]*)"
)
_SUBS = r"(launch|status|list|logs|stop|queue|gpus|usage)"
_HELP_TOPIC = re.compile(
    rf"\b(?:help|usage)\s+(?:with\s+|on\s+|for\s+)?(?:the\s+)?{_SUBS}\b|\bhow\s+(?:do|can)\s+i\s+use\s+(?:the\s+)?{_SUBS}\b"
)
_MAX_TEXT = 2000  # longer input is not a chat request; it is also cut to keep the rules fast
_PREFIX = re.compile(r"^\s*/gpu(?:\s+|$)", re.I)


class _Parts:
    """The pieces of a sentence, extracted once."""

    def __init__(self, scanned: Scanned) -> None:
        plain = _PREFIX.sub("", scanned.plain(plain_value), count=1)[:_MAX_TEXT]
        for tok in scanned.tokens:
            if tok.kind == "channel" and tok.text:  # "<#C1|ml-research>" is a place, never a job
                plain = re.sub(rf"(?<![\w-]){re.escape(tok.text)}(?![\w-])", " channel ", plain, count=1)
        marked = read_marked(scanned, plain)
        self.marked = marked
        self.command = marked.command
        self.env = tuple(marked.env.items())
        self.image, s = take_image(marked.plain)
        given = marked.fields
        self.state: JobState | None = None  # state=, scope=: a list's or a stop's selector
        self.scope: Scope | None = None
        # "<@U1>'s jobs", "jobs of <@U1>": someone else's, so never the asker's by default
        self.others = any(t.kind == "mention" and t.text.endswith("'s") for t in scanned.tokens) or bool(
            re.search(r"\b(?:of|by|from|belonging\s+to|owned\s+by)\s*(?:<@|(?:the\s+)?(?:user|account)\s+\S)",
                      scanned.source, re.I))
        if isinstance(given.get("image"), str):
            self.image = str(given["image"])
        self.image = self.image or marked.image
        self.resources: dict[str, object] = {}  # memory, cpus (per node)
        low = canonical_verbs(re.sub(r"(?<!\S)w/(?=\s)", "with", s.lower()))
        self.injection = is_injection(low) or any(is_danger(c.text.lower()) for c in scanned.code())
        low, self.identity = strip_identity(low)
        low = digits_for_words(low)
        self.intent_text = low  # quantities stay in for intent rules ("any H100s available")
        self.template, low = take_template(low)
        self.tail, low = take_tail(low)
        self.time_limit_s, low = take_duration(low)
        self.resources, low = take_resources(low)
        self.spec: GpuSpec
        self.spec, low = take_gpu_spec(low)
        self.priority, low = take_priority(low)
        self._apply(given)
        self.rest = low  # what is left: verbs, names, scope and state words

    def _apply(self, given: dict[str, object]) -> None:
        """``key=value`` words win over what the rules guessed from the prose."""
        for key, value in given.items():
            if key == "gpus" and isinstance(value, int):
                self.spec.gpus = value
            elif key == "nodes" and isinstance(value, int):
                self.spec.nodes = value
            elif key == "gpus_per_node" and isinstance(value, int):
                nodes = given.get("nodes")
                self.spec.gpus = value * (nodes if isinstance(nodes, int) else self.spec.nodes or 1)
            elif key == "gpu_type" and isinstance(value, str):
                self.spec.gpu_type = value
            elif key == "time_limit_s" and isinstance(value, int):
                self.time_limit_s = value
            elif key == "tail" and isinstance(value, int):
                self.tail = value
            elif key == "template" and isinstance(value, str):
                self.template = value
            elif key == "priority":
                self.priority = as_priority(value) or self.priority
            elif key in ("memory", "cpus"):
                self.resources[key] = value
            elif key == "state" and isinstance(value, str) and value in JOB_STATES:
                self.state = STATE_WORDS[value]
            elif key == "scope":
                self.scope = "mine" if value == "mine" else "team" if value == "team" else "all"

    def launch_detail(self) -> bool:
        s = self.spec
        return any(
            x is not None for x in (s.gpus, s.gpu_type, s.nodes, self.image, self.template, self.command)
        ) or bool(self.env)


def parse_sentence(text: str) -> Action:
    """The action a sentence asks for; never raises (unclear requests become ``Clarify``)."""
    return read_sentence(scan(text))


def read_sentence(scanned: Scanned) -> Action:
    """The action of a scanned sentence (``parse`` scans once and hands the tokens here)."""
    p = _Parts(scanned)
    action = _action(p)
    if isinstance(action, Stop | Launch) and asks_should_i(p.intent_text):
        return Clarify(question=msg.clarify_your_call(to_command(action)))  # "should I stop x?"
    return action


def _action(p: _Parts) -> Action:
    if not p.intent_text.strip() and not p.launch_detail():
        return Clarify(question=msg.clarify_empty())
    names = list(dict.fromkeys([*p.marked.names, *_given_name(p), *job_names(p.rest)]))
    intent = detect(_masked(p.intent_text, names),
                    p.launch_detail() or bool(marked_names(p.rest)) or bool(_given_name(p)), bool(names))
    if intent == "danger" or p.injection:
        return Clarify(question=msg.clarify_not_allowed())
    either = undecided(p.intent_text, intent, names[0] if names else None)
    if either:
        return Clarify(question=either)  # "status or logs of ft-9": the person decides, not the rules
    if (slurm := slurm_sentence(p.intent_text, names, p.time_limit_s, p.marked.plain.lower())) is not None:
        return slurm
    if intent == "none" and len(names) == 1 and not re.sub(
            r"[^a-z0-9]+|\b(?:what|how|and|about|then|so)\b|" + re.escape(names[0]), "", p.rest):
        return Status(job=names[0])  # only a job's name ("sft-7b?", "what about sft-7b?"): how is it doing
    if intent == "help":
        topic = _HELP_TOPIC.search(p.rest)
        return Help(topic=(topic.group(1) or topic.group(2)) if topic else None)
    if intent == "usage":
        return Usage(window_s=_usage_window(p.intent_text))
    if intent == "launch":
        return _launch(p)
    if intent == "queue":
        return Queue()
    if intent == "gpus":
        return Gpus()
    if intent == "status":
        return Status(job=names[0] if names else None)
    if intent == "logs":
        return Logs(job=names[0] if names else None, tail=p.tail or 50)
    if intent == "list":
        state = find_state(p.rest) or ("queued" if re.search(r"\bin\s+(?:the\s+)?queue\b", p.rest) else None)
        if WHO_USES.search(p.rest):
            return ListJobs(scope="all", state=state or "running")  # "who is using the H100s"
        return ListJobs(scope=p.scope or find_scope(p.rest) or _default_scope(p), state=p.state or state)
    if intent == "stop":
        stop = _stop(p, names)
        if isinstance(stop, Stop) and also_launch(p.intent_text) and p.launch_detail():
            # Two readings ("kill bert-x and start one on 8 GPUs"): one action per request, so ask.
            launch = _launch(p)
            if isinstance(launch, Launch) and launch.name in stop.jobs:
                launch = dataclasses.replace(launch, name=None, given=launch.given - {"name"})  # that is the stop's
            if isinstance(launch, Launch):
                return Clarify(question=msg.clarify_two_readings(to_command(stop), to_command(launch)))
        return stop
    return Clarify(question=msg.clarify_not_allowed() if p.identity else msg.clarify_out_of_scope())


def _launch(p: _Parts) -> Action:
    name = _launch_name(p)
    if name is None and not p.launch_detail():
        return Clarify(question=msg.clarify_launch_details())
    fields: dict[str, object] = {}
    if name:
        fields["name"] = name
    if p.template:
        fields["template"] = p.template
    if p.image:
        fields["image"] = p.image
    if p.spec.gpus is not None and p.spec.gpus > 0:
        fields["gpus"] = p.spec.gpus
    if p.spec.gpu_type:
        fields["gpu_type"] = p.spec.gpu_type
    if p.spec.nodes is not None and p.spec.nodes > 0:
        fields["nodes"] = p.spec.nodes
    if p.time_limit_s:
        fields["time_limit_s"] = p.time_limit_s
    if p.priority:
        fields["priority"] = p.priority
    if p.command:
        fields["command"] = p.command
    if p.env:
        fields["env"] = p.env
    fields.update(p.resources)
    return Launch(**fields, given=frozenset(fields))  # type: ignore[arg-type]


def _default_scope(p: _Parts) -> Scope:
    return "all" if p.others else "mine"


def _usage_window(low: str) -> int:
    """The chart's window: 6h, 24h or 7d, the nearest to what was asked."""
    if re.search(r"\b(?:7\s*d|7\s*days?|week|weekly)\b", low):
        return 7 * 86400
    if re.search(r"\b(?:24\s*h|24\s*hours?|1\s*d|1\s*days?|day|today|yesterday|daily)\b", low):
        return 86400
    return 6 * 3600


def _masked(low: str, names: list[str]) -> str:
    """``low`` with the job names hidden: "emb-train" or "ft-run-3" must not read as a verb."""
    for name in names:
        if "-" in name:
            low = re.sub(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", " jobx ", low)
    return low


def _given_name(p: _Parts) -> list[str]:
    name = p.marked.fields.get("name")
    return [name] if isinstance(name, str) else []


def _launch_name(p: _Parts) -> str | None:
    if p.marked.names or _given_name(p):
        return [*_given_name(p), *p.marked.names][0]
    marked = marked_names(p.rest, "launch")
    if marked:
        return marked[0]
    for m in _LAUNCH_VERB.finditer(p.rest):
        # After a verb only a name-shaped token (a digit or a dash) is a name: "train mistral" is a model.
        if is_strong_name(m.group(1)):
            return name_ok(m.group(1))
    strong = job_names(p.rest)  # "can I get 2 h100s for an hour for debug-1?"
    return strong[0] if strong and is_strong_name(strong[0]) else None


def _stop(p: _Parts, names: list[str]) -> Action:
    if names:
        return Stop(jobs=tuple(names))
    scope = p.scope or find_scope(p.rest) or _default_scope(p)
    state = p.state or find_state(re.sub(r"\b(?:stop|cancel|kill|terminate|end)\b", " ", p.rest))
    if state is None and re.search(r"\b(?:my|our|team'?s?)\s+queue\b", p.rest):
        state = "queued"  # "clear my queue": my waiting jobs
    plural = re.search(r"\b(?:all|every|everything|jobs)\b", p.rest)
    if plural or state:
        return Stop(jobs=(), scope=scope or "mine", state=state)
    return Clarify(question=msg.clarify_which_job("stop"))


__all__ = ["parse_sentence"]
