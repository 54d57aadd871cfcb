"""The bundle of ports the composition root hands to the services (each service names what it uses)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bot.domain.policy.config import Policy
from bot.services.needs import Wakeup
from bot.services.ports import (
    AlertStates,
    ApprovalRequests,
    AuditLog,
    CardKeeper,
    ChartRenderer,
    Chat,
    Clock,
    Cluster,
    Conversations,
    GpuMetrics,
    JobQueue,
    NoticeMarks,
    Previews,
)


@dataclass
class Runtime:
    policy: Policy
    store: JobQueue
    previews: Previews
    cluster: Cluster
    cards: Chat
    alerts: AlertStates
    notice_marks: NoticeMarks
    conversations: Conversations
    audit: AuditLog
    approvals: ApprovalRequests
    charts: ChartRenderer
    desk: CardKeeper  # the one owner of the jobs' cards: posts each once, owed durably in Redis
    clock: Clock = time.time
    prometheus: GpuMetrics | None = None  # PROMETHEUS_URL set: GPU views, idle nudges
    wake_dispatcher: Wakeup = field(default_factory=Wakeup)

