"""The bot's own telemetry, served at ``/metrics``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

REGISTRY = CollectorRegistry()

REQUESTS = Counter(
    "chatops_requests", "Slack requests handled, by kind and outcome", ["kind", "outcome"], registry=REGISTRY
)
ACTIONS = Counter("chatops_actions", "Actions parsed, by action type", ["action"], registry=REGISTRY)
HTTP_LATENCY = Histogram(
    "chatops_http_request_seconds", "Time to answer an HTTP request, by route", ["route"], registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)


def render() -> bytes:
    return generate_latest(REGISTRY)
