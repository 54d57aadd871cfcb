"""Text → action for every request: grammar, follow-ups, the LLM or the rules, and the context.

Order, cheapest and most certain first:
1. `/gpu` grammar commands are parsed by the grammar (never sent to a model);
2. a short reply in a conversation is a follow-up of its last action (pure rules, no model);
3. a sentence goes to the LLM when one is configured (cached; at most one call), and to the
   rule-based parser when there is none or it fails, times out or proposes nothing valid.
Requests the rules see as out of bounds ("give me cluster-admin") never reach the model. What
comes out is only a proposal: policy and the confirmation cards judge it like any command.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.domain import messages as msg
from bot.domain.actions import Action, Clarify, Launch, Logs, Status, Stop, to_dict
from bot.domain.errors import BackendError, ParseError
from bot.domain.jobs import ACTIVE_STATES
from bot.domain.language.followups import (
    AGAIN_HINT,
    again_of,
    follow_up,
    is_confirmation,
    launch_of,
    resolve_pronoun,
)
from bot.domain.language.parsing import Parsed, parse
from bot.services.needs import UnderstandingPorts

log = logging.getLogger(__name__)

_REMEMBERED = (Launch, Stop, Status, Logs)  # actions a follow-up can refer back to


class ContextStore(Protocol):
    """Where each conversation's last action lives (``bot.adapters.redis.conversation_store``)."""

    def get(self, conversation: str) -> dict[str, Any] | None: ...

    def put(self, conversation: str, action: dict[str, Any]) -> None: ...

    def clear(self, conversation: str) -> None: ...


class SentenceModel(Protocol):
    """An LLM parser (``bot.adapters.llm.LLMParser``): raises on any failure."""

    model_id: str

    def propose(self, text: str, context: Mapping[str, Any] | None = None, jobs: Sequence[str] = ()) -> Action: ...


@dataclass(frozen=True)
class Understood:
    action: Action | None  # None: nothing to do, ``reply`` says so
    reply: str = ""
    source: str = "rules"  # grammar | followup | llm | cache | rules (for logs and tests)
    based_on: str | None = None  # the asker's earlier launch this one copies ("same as before")


class TTLCache:
    """A small in-process LRU whose entries also expire: same (model, context, text) → same action."""

    def __init__(self, maxsize: int = 512, ttl_s: float = 600.0, clock: Callable[[], float] = time.monotonic):
        self.maxsize, self.ttl_s, self.clock = maxsize, ttl_s, clock
        self._data: OrderedDict[str, tuple[float, Action]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Action | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is None:
                return None
            if self.clock() - hit[0] > self.ttl_s:
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return hit[1]

    def put(self, key: str, action: Action) -> None:
        with self._lock:
            self._data[key] = (self.clock(), action)
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)


def cache_key(model_id: str, context: Mapping[str, Any] | None, text: str) -> str:
    blob = json.dumps([model_id, context or None, text], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def is_command(text: str) -> bool:
    """Whether ``parse`` reads ``text`` with the `/gpu` grammar (then no model is consulted)."""
    try:
        return parse(text).via == "grammar"
    except ParseError:
        return True  # a malformed command: the grammar's refusal is the answer


class Understanding:
    def __init__(self, conversations: ContextStore | None, active_jobs: Callable[[str], list[str]],
                 llm: SentenceModel | None = None, cache: TTLCache | None = None,
                 last_launch: Callable[[str], tuple[str, Launch] | None] | None = None) -> None:
        self.conversations = conversations
        self.active_jobs = active_jobs
        self.last_launch = last_launch  # (job name, its launch) of the asker's newest job, any channel
        self.llm = llm
        self.cache = cache or TTLCache()

    def understand(self, user_id: str, channel_id: str, text: str, thread_key: str | None = None) -> Understood:
        """The action ``text`` asks for. Raises only the grammar's ``ParseError`` (a refusal)."""
        conversation = f"{thread_key or channel_id}\0{user_id}"  # per person: others' replies don't steer it
        last = self._context(conversation)
        parsed = parse(text)  # once: the grammar's refusal (ParseError) is the answer
        if parsed.via == "grammar":
            result = Understood(parsed.action, source="grammar")
        else:
            result = self._sentence(parsed, last, user_id)
        if result.action is None:
            self._remember(conversation, None)
        elif isinstance(result.action, _REMEMBERED):
            self._remember(conversation, to_dict(result.action))
        return result

    def _sentence(self, parsed: Parsed, last: dict[str, Any] | None, user_id: str) -> Understood:
        body = parsed.cleaned_text
        fu = follow_up(body, last)
        if fu is not None:
            if fu.kind == "cancel" or fu.action is None:
                return Understood(None, msg.followup_cancelled(), "followup")
            return Understood(fu.action, source="followup")
        if last is None and is_confirmation(body):
            return Understood(Clarify(msg.nothing_to_confirm()), source="followup")
        again = self._again(body, user_id)
        if again is not None:
            return again
        ruled = parsed.action  # the rules' reading: the fallback and the guard below
        action, source = ruled, "rules"
        if self.llm is not None and not _out_of_bounds(ruled):
            action, source = self._ask_model(body, last, ruled, user_id)
        unclear_stop = isinstance(action, Clarify) and action.question == msg.clarify_which_job("stop")
        action = resolve_pronoun(action, body, last, unclear_stop)
        action = self._known_job(action, body, user_id)
        return Understood(self._specific(action, user_id), source=source)

    def _known_job(self, action: Action, body: str, user_id: str) -> Action:
        """A job of the asker named in the text wins over the rules' guess ("how is bert doing")."""
        unclear_stop = isinstance(action, Clarify) and action.question == msg.clarify_which_job("stop")
        guessed: tuple[str, ...]
        if isinstance(action, Status | Logs):
            guessed = (action.job,) if action.job else ()
        elif isinstance(action, Stop) and action.scope is None and action.state is None:
            guessed = action.jobs
        elif unclear_stop:
            guessed = ()
        else:
            return action
        try:
            known = self.active_jobs(user_id)
        except BackendError:
            return action
        if not known or (guessed and all(g in known for g in guessed)):
            return action
        words = set(re.findall(r"[a-z0-9][a-z0-9._-]*[a-z0-9]|[a-z0-9]", body.lower()))
        hits = [n for n in known if n in words]
        if len(hits) != 1 or len(guessed) > 1:
            return action
        if isinstance(action, Status):
            return Status(job=hits[0])
        if isinstance(action, Logs):
            return Logs(job=hits[0], tail=action.tail)
        return Stop(jobs=(hits[0],))

    def _again(self, body: str, user_id: str) -> Understood | None:
        """"Same as before but with 32 GPUs": the asker's most recent launch (its record) as the base."""
        if self.last_launch is None or not AGAIN_HINT.search(body.lower()):
            return None
        try:
            found = self.last_launch(user_id)
        except BackendError as err:
            log.warning("last launch unavailable: %s", err)
            return None
        if found is None:  # a clear "same as before" with nothing before: say so, not "I can only help with..."
            probe = Launch(name="-", image="-", gpu_type="-", given=frozenset({"image", "gpu_type"}))
            return Understood(Clarify(question=msg.nothing_to_repeat()), source="followup") \
                if again_of(body, probe) is not None else None
        name, launch = found
        action = again_of(body, launch)
        return Understood(action, source="followup", based_on=name) if action is not None else None

    def _ask_model(self, body: str, last: dict[str, Any] | None, ruled: Action, user_id: str) -> tuple[Action, str]:
        assert self.llm is not None
        try:
            jobs = self.active_jobs(user_id)
        except BackendError:
            jobs = []  # the model still reads the request; it only cannot match a job by its name
        key = cache_key(self.llm.model_id, {"last": last, "jobs": jobs} if jobs else last, body)
        cached = self.cache.get(key)
        if cached is not None:
            return cached, "cache"
        try:
            action = self.llm.propose(body, last, jobs)
        except BackendError as err:  # the adapter maps every failure of the model: the rules answer
            log.warning("LLM parser failed, using the rules: %s", err)
            return ruled, "rules"
        self.cache.put(key, action)
        return action, "llm"

    def _specific(self, action: Action, user_id: str) -> Action:
        """Turn a vague "which job?" into one that names the asker's active jobs."""
        verb = None
        if isinstance(action, Clarify) and action.question == msg.clarify_which_job("stop"):
            verb = "stop"
        elif isinstance(action, Stop) and not action.jobs and action.scope is None and action.state is None:
            verb = "stop"  # a model's stop without target: never guess which jobs
        if verb is None:
            return action
        try:
            names = self.active_jobs(user_id)
        except BackendError:
            return Clarify(msg.clarify_which_job(verb))
        return Clarify(msg.clarify_which_job_of(verb, names))

    def _context(self, conversation: str) -> dict[str, Any] | None:
        if self.conversations is None:
            return None
        try:
            return self.conversations.get(conversation)
        except BackendError as err:  # without context a follow-up reads as a new request; not fatal
            log.warning("conversation context unavailable: %s", err)
            return None

    def _remember(self, conversation: str, action: dict[str, Any] | None) -> None:
        if self.conversations is None:
            return
        try:
            if action is None:
                self.conversations.clear(conversation)
            else:
                self.conversations.put(conversation, action)
        except BackendError as err:
            log.warning("conversation context not saved: %s", err)


def _out_of_bounds(action: Action) -> bool:
    return isinstance(action, Clarify) and action.question == msg.clarify_not_allowed()



def build_understanding(rt: UnderstandingPorts, llm: SentenceModel | None = None) -> Understanding:
    """The app's understanding service: context in the conversation store, the LLM when configured."""

    def active_jobs(user_id: str) -> list[str]:
        return [r.name for r in rt.store.list(owner=user_id, states=sorted(ACTIVE_STATES), limit=20)]

    def last_launch(user_id: str) -> tuple[str, Launch] | None:
        newest = rt.store.list(owner=user_id, limit=1)
        return (newest[0].name, launch_of(newest[0])) if newest else None

    return Understanding(rt.conversations, active_jobs, llm, last_launch=last_launch)
