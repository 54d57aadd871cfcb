"""The services' shared handles: the policy and the adapters, built once by the composition root."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.adapters.kube.client import KubeCluster
from bot.adapters.prometheus import PrometheusGpu
from bot.adapters.redis.preview_store import PreviewStore
from bot.adapters.redis.queue_store import QueueStore
from bot.adapters.slack.web import SlackCards
from bot.domain.policy.config import Policy


@dataclass
class Runtime:
    policy: Policy
    store: QueueStore
    previews: PreviewStore
    cluster: KubeCluster
    cards: SlackCards
    clock: Callable[[], float] = time.time
    prometheus: PrometheusGpu | None = None  # PROMETHEUS_URL set: GPU views, idle nudges
    # Set by the dispatcher: wakes it after a submit or a stop instead of waiting for its next pass.
    wake_dispatcher: Callable[[], None] = field(default=lambda: None)
