"""One entry for every request: text (slash command or sentence) → action → the reply.

Refusals become ephemeral replies with why and the fix; outside-system failures become an
honest "try again"; nothing a user types can raise out of here.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from bot import logs, metrics
from bot.domain import messages as msg
from bot.domain.actions import (
    Action,
    Audit,
    Clarify,
    Extend,
    Gpus,
    Help,
    History,
    Hold,
    Launch,
    ListJobs,
    Logs,
    Queue,
    Release,
    Report,
    Requeue,
    Status,
    Stop,
    Usage,
)
from bot.domain.errors import BackendError, ParseError, Refusal
from bot.render import replies as rendering
from bot.services.accounting import Accounting
from bot.services.approvals import ApprovalService
from bot.services.audit import AuditService
from bot.services.gpu_views import GpuViews
from bot.services.job_control import JobControl
from bot.services.jobs import JobsService
from bot.services.launch import LaunchService, Pending, preview_token
from bot.services.needs import CommandPorts
from bot.services.understanding import Understanding, build_understanding

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """A request as the signed Slack payload gives it: identity never comes from the text."""

    user_id: str
    channel_id: str
    text: str
    request_key: str  # trigger_id or event id: the same for a Slack retry of the same request
    # The conversation (channel + thread ts, or a DM): follow-ups refer to its last action.
    thread_key: str | None = None


class CommandService:
    def __init__(self, rt: CommandPorts, understanding: Understanding | None = None) -> None:
        self.rt = rt
        self.understanding = understanding or build_understanding(rt)
        self.launches = LaunchService(rt)
        self.jobs = JobsService(rt)
        self.gpu_views = GpuViews(rt, self.jobs, rt.prometheus)
        self.audit = AuditService(rt)
        self.approvals = ApprovalService(rt, self.launches)
        self.control = JobControl(rt, self.jobs, self.approvals)
        self.approvals.extensions = self.control  # an approved extension is applied by the job verbs
        self.accounting = Accounting(rt)

    def confirm_launch(self, token: str, clicker: str) -> rendering.Reply:
        """[Launch]: submitted, or sent to the approvers when a rule of the policy's ``approvals`` matches."""
        done = self.launches.confirm(token, clicker)
        if isinstance(done, Pending):
            return self.approvals.ask(done)
        return rendering.text_reply(msg.launch_submitted(done.record.name, done.record.channel))

    def handle(self, req: Request, kind: str = "command") -> rendering.Reply:
        def work() -> rendering.Reply:
            try:
                got = self.understanding.understand(req.user_id, req.channel_id, req.text, req.thread_key)
            except ParseError as err:
                err.fix = self.launches.settled_fix(err.fix, req.user_id)  # its "Try:" must pass for them
                raise
            if got.action is None:
                return rendering.text_reply(got.reply)
            outcome = "error"
            try:
                reply = self._route(got.action, req, got.based_on)
                outcome = "ok"
                return reply
            except Refusal:
                outcome = "refused"
                raise
            except BackendError:
                outcome = "backend_error"
                raise
            finally:
                metrics.ACTIONS.labels(got.action.action, outcome).inc()

        with logs.request_context(req.request_key or uuid.uuid4().hex[:12]):
            return guarded(work, kind)

    def _route(self, action: Action, req: Request, based_on: str | None = None) -> rendering.Reply:
        user = req.user_id
        match action:
            case Launch():
                token = preview_token(user, req.channel_id, req.request_key, req.text)
                return self.launches.preview(action, user, req.channel_id, token, based_on)
            case Status():
                return self.jobs.status(action, user)
            case ListJobs():
                return self.jobs.list_jobs(action, user)
            case Logs():
                return self.jobs.logs(action, user)
            case Stop():
                return self.jobs.request_stop(action, user, req.request_key)
            case Queue():
                return self.jobs.queue(user)
            case Gpus():
                return self.gpu_views.gpus()  # the cluster table, with utilization when Prometheus is known
            case Usage():
                return self.gpu_views.usage(action, req.channel_id)
            case Audit():
                return self.audit.view(action, user)
            case Extend():
                return self.control.once("extend", user, req.request_key, lambda: self.control.extend(action, user))
            case Hold():
                return self.control.once("hold", user, req.request_key, lambda: self.control.hold(action, user))
            case Release():
                return self.control.once("release", user, req.request_key,
                                         lambda: self.control.release(action, user))
            case Requeue():
                return self.control.once("requeue", user, req.request_key,
                                         lambda: self.control.requeue(action, user))
            case History():
                return self.accounting.history(action, user)
            case Report():
                return self.accounting.report(action, user, req.channel_id)
            case Help():
                return rendering.text_reply(msg.help_text(action.topic))
            case Clarify():
                return rendering.text_reply(action.question)
        raise AssertionError(f"unhandled action {action!r}")


def guarded(work: Callable[[], rendering.Reply], kind: str = "button") -> rendering.Reply:
    """Run a use case; every failure becomes a reply a person can act on (and is counted)."""
    started = time.perf_counter()
    try:
        reply = work()
        metrics.COMMANDS.labels(kind, "ok").inc()
        return reply
    except Exception as err:  # the boundary of a request: every failure is answered, none escapes
        return failure_reply(err, kind)
    finally:
        metrics.COMMAND_LATENCY.labels(kind).observe(time.perf_counter() - started)


def failure_reply(err: Exception, kind: str) -> rendering.Reply:
    """What a person is told when their request failed: the refusal, an honest "try again", or an id."""
    if isinstance(err, Refusal):
        metrics.COMMANDS.labels(kind, "refused").inc()
        return rendering.refusal(err)
    if isinstance(err, BackendError):
        metrics.COMMANDS.labels(kind, "backend_error").inc()
        log.warning("backend failure (%s): %s", err.system, err)
        return rendering.text_reply(backend_text(err))
    metrics.COMMANDS.labels(kind, "error").inc()
    request_id = logs.REQUEST_ID.get() or uuid.uuid4().hex[:8]
    log.error("request %s failed", request_id, exc_info=err)
    return rendering.text_reply(msg.internal_error(request_id))


def backend_text(err: BackendError) -> str:
    """The truth about an outside failure, from what the error says (never from its message text)."""
    if err.ambiguous:  # a write whose answer was lost: "nothing was changed" may be false
        return msg.outcome_unknown(err.system, "/gpu list")
    if err.system == "kubernetes" and err.retryable and err.status is not None:
        return msg.cluster_busy()  # 429 or 5xx: load, not a judgement of the request
    if not err.retryable:
        return msg.backend_refused(err.system, f"HTTP {err.status}" if err.status else type(err).__name__)
    return msg.backend_unavailable(err.system)

