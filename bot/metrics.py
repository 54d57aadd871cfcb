"""The bot's own telemetry, served at ``/metrics`` (Prometheus text format).

One registry for the process; every series the README lists is defined here so names stay in one place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, make_wsgi_app

REGISTRY = CollectorRegistry()

REQUESTS = Counter(
    "chatops_requests", "HTTP requests from Slack, by kind and status", ["kind", "outcome"], registry=REGISTRY
)
COMMANDS = Counter(
    "chatops_commands", "Requests handled (slash commands, sentences, buttons), by kind and outcome",
    ["kind", "outcome"], registry=REGISTRY,
)
ACTIONS = Counter("chatops_actions", "Actions acted on, by action type and outcome", ["action", "outcome"],
                  registry=REGISTRY)
HTTP_LATENCY = Histogram(
    "chatops_http_request_seconds", "Time to answer an HTTP request, by route", ["route"], registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
COMMAND_LATENCY = Histogram(
    "chatops_command_seconds", "Time from a request to its reply (after the ack), by kind", ["kind"],
    registry=REGISTRY, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
QUEUE_DEPTH = Gauge("chatops_queue_depth", "Queued jobs, by GPU type", ["gpu_type"], registry=REGISTRY)
ADMISSIONS = Counter("chatops_admissions", "Jobs admitted by the dispatcher, by GPU type", ["gpu_type"],
                     registry=REGISTRY)
SLACK_CALLS = Counter("chatops_slack_api_calls", "Slack Web API calls, by method and result", ["method", "result"],
                      registry=REGISTRY)
SLACK_RATE_LIMITED = Counter("chatops_slack_rate_limited", "Slack Web API answers 429", ["method"], registry=REGISTRY)
KUBE_ERRORS = Counter("chatops_kubernetes_api_errors", "Kubernetes API errors, by operation and kind",
                      ["operation", "kind"], registry=REGISTRY)
KUBE_RETRIES = Counter("chatops_kubernetes_api_retries", "Kubernetes API calls tried again, by operation",
                       ["operation"], registry=REGISTRY)
ALERTS = Counter("chatops_alerts_received", "Alertmanager webhooks, by outcome", ["outcome"], registry=REGISTRY)


def render() -> bytes:
    return generate_latest(REGISTRY)


def wsgi_app() -> Callable[[Any, Any], Iterable[bytes]]:
    """``GET /metrics`` as a WSGI application (text format; gzip when the scraper asks for it)."""
    app: Callable[[Any, Any], Iterable[bytes]] = make_wsgi_app(REGISTRY)
    return app
