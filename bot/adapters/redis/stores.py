"""Every Redis-backed store of the bot, on one connection and one key prefix."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from bot.adapters.redis import client as redis_client
from bot.adapters.redis.alert_store import AlertStore
from bot.adapters.redis.approval_store import ApprovalStore
from bot.adapters.redis.audit_store import AuditStore
from bot.adapters.redis.card_store import CardLedger
from bot.adapters.redis.conversation_store import ConversationStore
from bot.adapters.redis.group_store import GroupStore
from bot.adapters.redis.notice_store import NoticeStore
from bot.adapters.redis.preview_store import PreviewStore
from bot.adapters.redis.queue_store import QueueStore
from bot.adapters.redis.seen_store import SeenSignatures


@dataclass(frozen=True)
class RedisStores:
    queue: QueueStore
    previews: PreviewStore
    alerts: AlertStore
    notices: NoticeStore
    conversations: ConversationStore
    seen: SeenSignatures  # signed Slack requests already taken in (replays are ignored)
    cards: CardLedger
    audit: AuditStore
    groups: GroupStore  # the last known Slack user groups
    approvals: ApprovalStore

    @classmethod
    def on(cls, client: redis.Redis, prefix: str) -> RedisStores:
        return cls(QueueStore(client, prefix), PreviewStore(client, prefix), AlertStore(client, prefix),
                   NoticeStore(client, prefix), ConversationStore(client, prefix), SeenSignatures(client, prefix),
                   CardLedger(client, prefix), AuditStore(client, prefix), GroupStore(client, prefix),
                   ApprovalStore(client, prefix))

    @classmethod
    def connect(cls, url: str | None, prefix: str) -> RedisStores:
        """``url`` None: the embedded in-process store (one process only)."""
        return cls.on(redis_client.connect(url), prefix)
