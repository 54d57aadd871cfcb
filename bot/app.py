"""The composition root: settings + policy → adapters → services → bolt app, HTTP server, dispatcher."""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from slack_bolt import App
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

from bot.adapters.alertmanager import Alertmanager
from bot.adapters.charts import usage_png
from bot.adapters.kube import clusters as kube_clusters
from bot.adapters.kube.client import KubeCluster
from bot.adapters.kube.clusters import KubeClusters
from bot.adapters.prometheus import PrometheusGpu
from bot.adapters.redis.stores import RedisStores
from bot.adapters.slack.groups import SlackGroups
from bot.adapters.slack.web import SlackCards, make_client
from bot.domain.errors import BackendError, ConfigError
from bot.domain.policy.config import Policy, load_policy
from bot.http_server import ChatopsHTTPServer, HttpLimits
from bot.http_slack import SlackGate
from bot.services.alerting import AlertPipeline, alert_actions
from bot.services.card_desk import CardDesk
from bot.services.commands import CommandService
from bot.services.directory import REFRESH_EVERY_S, Directory
from bot.services.dispatcher import Dispatcher
from bot.services.housekeeping import Housekeeping
from bot.services.periodic import Periodic
from bot.services.ports import Chat, Cluster, GpuMetrics
from bot.services.reload import CONFIG_POLL_S, Reloader
from bot.services.runtime import Runtime
from bot.services.understanding import SentenceModel, build_understanding
from bot.services.watcher import Watcher
from bot.settings import Settings
from handlers import alerts as alert_handlers
from handlers import commands as command_handlers
from handlers import errors as error_handlers
from handlers import events as event_handlers
from handlers import home as home_handlers
from handlers import interactions as interaction_handlers
from handlers import org as org_handlers

log = logging.getLogger(__name__)
T = TypeVar("T")


class ListenerPool(ThreadPoolExecutor):
    """Bolt's listener threads, each running in the context of the request that queued it (its request id)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)


class _NoTokenSkippedWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns on every start that our client wins; it is meant to."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


logging.getLogger("slack_bolt.App").addFilter(_NoTokenSkippedWarning())


def build_runtime(settings: Settings, policy: Policy, cluster: KubeCluster | KubeClusters | None = None,
                  slack: SlackCards | None = None, stores: RedisStores | None = None) -> Runtime:
    """The adapters behind the services' ports: one Redis connection, the cluster, Slack, Prometheus."""
    if cluster is None:
        cluster = kube_clusters.connect(policy.clusters, policy.gpu_types, settings.kubeconfig)
    if slack is None:
        slack = SlackCards(make_client(Settings.reveal(settings.slack_bot_token), settings.slack_api_url))
    prom = PrometheusGpu(settings.prometheus_url) if settings.prometheus_url else None
    if stores is None:
        stores = RedisStores.connect(Settings.reveal(settings.redis_url), policy.redis_prefix)
    if isinstance(cluster, kube_clusters.KubeClusters):  # several clusters: a job's calls go to its own
        queue = stores.queue
        cluster.locate = lambda namespace, name: (r.cluster or None) if (r := queue.get(namespace, name)) else None
    return runtime_of(policy, stores, cluster, slack, prom)


def runtime_of(policy: Policy, stores: RedisStores, cluster: Cluster, slack: Chat,
               prometheus: GpuMetrics | None = None) -> Runtime:
    desk = CardDesk(stores.queue, slack, policy, stores.cards)
    rt = Runtime(
        policy=policy, store=stores.queue, previews=stores.previews, cluster=cluster, cards=slack, desk=desk,
        alerts=stores.alerts, notice_marks=stores.notices, conversations=stores.conversations,
        audit=stores.audit, approvals=stores.approvals, charts=usage_png, prometheus=prometheus,
    )
    stores.audit.caps = lambda: (rt.policy.audit.max_entries, rt.policy.audit.max_age)  # a reload applies
    return rt


def sentence_model(model: str | None, base_url: str | None) -> SentenceModel | None:
    """The LLM that proposes actions for sentences (CHATOPS_LLM), or None for the rules alone."""
    if not model:
        return None
    from bot.adapters.llm import LLMParser  # imported only when configured: langchain is slow to load

    try:
        return LLMParser.from_settings(model, base_url)
    except Exception as err:  # any provider/package failure at start-up is a configuration problem
        raise ConfigError([f"CHATOPS_LLM={model}: cannot create the chat model ({err}); "
                           "fix the model name, install its LangChain package, or unset CHATOPS_LLM"]) from err


def build_bolt_app(settings: Settings, rt: Runtime, commands: CommandService, *, http: bool,
                   listeners: ThreadPoolExecutor | None = None, slack: SlackCards | None = None,
                   directory: Directory | None = None) -> App:
    secret = Settings.reveal(settings.slack_signing_secret)
    if http and not secret:
        raise ConfigError(["SLACK_SIGNING_SECRET: required in HTTP mode to verify Slack's requests; set it"])
    app = App(
        client=slack.client if slack is not None else None,
        signing_secret=secret or "socket-mode-has-no-signing-secret",
        request_verification_enabled=http,
        token_verification_enabled=False,  # no network call at start; a bad token shows on first use
        process_before_response=False,
        # Our own pool, so that a graceful stop can wait for the listeners still at work.
        listener_executor=listeners or ListenerPool(max_workers=10, thread_name_prefix="listener"),
    )
    error_handlers.register(app)
    command_handlers.register(app, commands)
    interaction_handlers.register(app, commands)
    event_handlers.register(app, commands)
    silences = Alertmanager(settings.alertmanager_url) if settings.alertmanager_url else None
    alert_handlers.register(app, alert_actions(rt, silences, commands.jobs))
    home_handlers.register(app, commands)
    org_handlers.register(app, commands, directory)
    return app


@dataclass
class Bot:
    """The running bot: its app, its HTTP server and its dispatcher."""

    runtime: Runtime
    commands: CommandService
    app: App
    dispatcher: Dispatcher
    http: ChatopsHTTPServer
    slack: SlackCards  # the Slack adapter itself: flushed and closed on stop
    watcher: Watcher | None = None  # the job watcher: cards follow the cluster
    alerts: AlertPipeline | None = None  # Alertmanager webhooks → Slack, idle nudges
    listeners: ThreadPoolExecutor | None = None  # bolt's listener threads (the work after each ack)
    directory: Directory | None = None  # Slack user groups → team members (rt.policy is resolved)
    background: list[Periodic] = field(default_factory=list)  # group refresh, approval expiry
    reloader: Reloader | None = None  # SIGHUP: the policy file again (CHATOPS_CONFIG)

    @classmethod
    def create(cls, settings: Settings, policy: Policy, *, host: str = "0.0.0.0", port: int = 8080,
               http_mode: bool = True, cluster: KubeCluster | KubeClusters | None = None,
               safety_interval_s: float = 5.0, directory_refresh_s: float = REFRESH_EVERY_S,
               config_poll_s: float = CONFIG_POLL_S) -> Bot:
        slack = SlackCards(make_client(Settings.reveal(settings.slack_bot_token), settings.slack_api_url))
        stores = RedisStores.connect(Settings.reveal(settings.redis_url), policy.redis_prefix)
        rt = build_runtime(settings, policy, cluster, slack, stores)
        model = sentence_model(settings.chatops_llm, settings.chatops_llm_base_url)
        commands = CommandService(rt, build_understanding(rt, model))
        directory = Directory(rt, SlackGroups(slack.client), stores.groups, policy)
        if isinstance(rt.desk, CardDesk):
            directory.on_change.append(rt.desk.follow_policy)
        directory.refresh()  # before the first request: group members are in their teams
        listeners = ListenerPool(max_workers=10, thread_name_prefix="listener")
        app = build_bolt_app(settings, rt, commands, http=http_mode, listeners=listeners, slack=slack,
                             directory=directory)
        dispatcher = Dispatcher(rt, safety_interval_s=safety_interval_s)
        server = ChatopsHTTPServer(host, port, app if http_mode else None, ready=lambda: _ready(rt),
                                   gate=_gate(settings, stores) if http_mode else None, limits=_limits(settings))
        alerts = AlertPipeline.create(rt, Settings.reveal(settings.alert_webhook_token))
        server.alerts = alerts.receiver.receive  # the alert route is served in every mode, like /healthz
        background = [Periodic("user-groups", directory_refresh_s, directory.refresh),
                      Periodic("approval-expiry", 1.0, commands.approvals.expire_due),
                      # dependencies followed, "time limit near" notices, finished jobs past retention
                      Periodic("housekeeping", 1.0, Housekeeping(rt).run_pass)]
        path = settings.chatops_config
        reloader = Reloader(rt, directory, path, load_policy) if path else None
        if reloader is not None:  # the file watch: the same path as SIGHUP
            background.append(Periodic("policy-file", config_poll_s, reloader.check_file))
        return cls(rt, commands, app, dispatcher, server, slack, Watcher(rt), alerts=alerts, listeners=listeners,
                   directory=directory, background=background, reloader=reloader)

    def reload(self) -> bool:
        """SIGHUP: the policy file again, validated first (a bad one is logged and changes nothing)."""
        if self.reloader is None:
            log.warning("SIGHUP: no policy file to reload (CHATOPS_CONFIG is not set)")
            return False
        return self.reloader.reload()

    def start(self) -> None:
        self.runtime.desk.start()  # first of all: the cards a crashed process still owed
        self.http.start()
        self.dispatcher.start()
        if self.alerts is not None:
            self.alerts.start()
        if self.watcher is not None:
            self.watcher.start()
        for loop in self.background:
            loop.start()
        self.dispatcher.wake()  # reconcile Redis with the cluster right away

    def stop(self) -> None:
        """Graceful: take no new requests, finish those in flight, release the lease, flush Slack."""
        self.http.stop()
        if self.listeners is not None:
            self.listeners.shutdown(wait=True)  # a confirmed launch being submitted completes
        if self.alerts is not None:
            self.alerts.stop()
        self.dispatcher.stop()
        for loop in self.background:
            loop.stop()
        if self.watcher is not None:
            self.watcher.stop()
        self.runtime.desk.stop(timeout=5.0)  # cards being posted get their ts (or stay owed, durably)
        self.slack.close(timeout=5.0)  # send what is queued: final card states first of all


def _gate(settings: Settings, stores: RedisStores) -> SlackGate:
    secret = Settings.reveal(settings.slack_signing_secret)
    assert secret, "build_bolt_app refuses HTTP mode without a signing secret"
    return SlackGate(secret, stores.seen.first_time)


def _limits(settings: Settings) -> HttpLimits:
    if settings.alert_webhook_max_bytes:
        return HttpLimits(alert_body_bytes=settings.alert_webhook_max_bytes)
    return HttpLimits()


def _ready(rt: Runtime) -> bool:
    try:
        return rt.store.ping()
    except BackendError:
        return False


class SocketMode:
    """Slack's Socket Mode connection for ``bot`` (no public ingress); ``close`` ends it."""

    def __init__(self, bot: Bot, app_token: str | None) -> None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        self._handler = SocketModeHandler(bot.app, app_token)
        self._handler.connect()  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self._handler.close()  # type: ignore[no-untyped-call]


socket_mode_handler = SocketMode
