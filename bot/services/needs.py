"""What each service needs: the ports it uses (``bot.services.ports``), as read-only members of the
bundle it is given. The concrete ``Runtime`` meets every bundle; tests give in-memory fakes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bot.domain.policy.config import Policy
from bot.services.ports import (
    AlertStates,
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
from bot.services.ports_org import ApprovalRequests as ApprovalRequests
from bot.services.ports_org import AuditLog as AuditLog
from bot.services.ports_org import GroupCache as GroupCache
from bot.services.ports_org import HasApprovals as HasApprovals
from bot.services.ports_org import HasAudit as HasAudit

# The composition root passes one ``Runtime`` (bot/services/runtime.py) that has them all; a test passes
# a small object with just the members a service names here, built from in-memory fakes.


class HasPolicy(Protocol):
    @property
    def policy(self) -> Policy: ...


class HasClock(Protocol):
    @property
    def clock(self) -> Clock: ...


class HasStore(Protocol):
    @property
    def store(self) -> JobQueue: ...


class HasPreviews(Protocol):
    @property
    def previews(self) -> Previews: ...


class HasCluster(Protocol):
    @property
    def cluster(self) -> Cluster: ...


class HasChat(Protocol):
    @property
    def cards(self) -> Chat: ...


class HasMetrics(Protocol):
    @property
    def prometheus(self) -> GpuMetrics | None: ...


class HasAlertStates(Protocol):
    @property
    def alerts(self) -> AlertStates: ...


class HasNoticeMarks(Protocol):
    @property
    def notice_marks(self) -> NoticeMarks: ...


class HasConversations(Protocol):
    @property
    def conversations(self) -> Conversations: ...


class HasCharts(Protocol):
    @property
    def charts(self) -> ChartRenderer: ...


class Wakeup:
    """Wakes the dispatcher after a submit or a stop instead of waiting for its next pass."""

    def __init__(self) -> None:
        self._target: Callable[[], None] = lambda: None

    def connect(self, target: Callable[[], None]) -> None:
        self._target = target

    def __call__(self) -> None:
        self._target()


class HasDesk(Protocol):
    @property
    def desk(self) -> CardKeeper: ...


class HasWake(Protocol):
    @property
    def wake_dispatcher(self) -> Wakeup: ...


class QueuePorts(HasPolicy, HasStore, Protocol): ...


class CardPorts(HasPolicy, HasStore, HasChat, HasClock, HasDesk, Protocol): ...


class LogPorts(HasCluster, HasChat, Protocol): ...


class NoticePorts(HasStore, HasChat, HasClock, HasNoticeMarks, Protocol): ...


class ReactionPorts(HasPolicy, HasStore, HasCluster, HasChat, HasClock, HasNoticeMarks, HasDesk, Protocol): ...


class HomePorts(HasPolicy, HasStore, HasCluster, HasChat, HasNoticeMarks, HasClock, Protocol): ...


class LaunchPorts(HasPolicy, HasStore, HasPreviews, HasCluster, HasChat, HasClock, HasWake, HasDesk, HasAudit,
                  Protocol): ...


class JobsPorts(LaunchPorts, Protocol): ...


class GpuViewPorts(HasPolicy, HasStore, HasCluster, HasChat, HasClock, HasCharts, Protocol): ...


class UnderstandingPorts(HasPolicy, HasStore, HasConversations, Protocol): ...


class DispatcherPorts(HasPolicy, HasStore, HasCluster, HasChat, HasClock, HasWake, HasDesk, HasNoticeMarks,
                      HasAudit, Protocol): ...


class WatcherPorts(ReactionPorts, HasWake, Protocol): ...


class AlertPorts(HasPolicy, HasStore, HasChat, HasClock, HasAlertStates, HasMetrics, HasDesk, HasAudit,
                 Protocol): ...


class CommandPorts(LaunchPorts, GpuViewPorts, UnderstandingPorts, HomePorts, HasMetrics, HasApprovals, Protocol): ...
