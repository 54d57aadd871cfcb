"""Launching: a preview to confirm, then one idempotent submit per confirmation."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from bot.domain import messages as msg
from bot.domain.actions import Action, After, Launch, to_dict
from bot.domain.cluster.workloads import render_workload
from bot.domain.errors import (
    BackendError,
    ClusterFactError,
    DryRunRejected,
    ForbiddenError,
    NamespaceMissing,
    Refusal,
    ValidationError,
)
from bot.domain.jobs import RUNNING_STATES, JobRecord
from bot.domain.names import suggest_job_name
from bot.domain.policy.approvals import NeedsApproval, approval_needed
from bot.domain.policy.fixes import settle
from bot.domain.policy.judge import Identity, check_launch, identify, judge_launch
from bot.render import replies as rendering
from bot.services.audit import record as audit
from bot.services.cards import publish_card
from bot.services.dependencies import first_waited, resolve_after
from bot.services.needs import LaunchPorts

log = logging.getLogger(__name__)


def preview_token(user_id: str, channel: str, request_key: str, text: str) -> str:
    """Deterministic per request: a retried Slack request gets the same preview and the same job."""
    digest = hashlib.sha256(f"{user_id}\0{channel}\0{request_key}\0{text}".encode()).hexdigest()
    return digest[:20]


def launch_from_dict(data: dict[str, Any]) -> Launch:
    return Launch(
        name=data.get("name"),
        template=data.get("template"),
        image=data.get("image"),
        gpus=int(data.get("gpus", 1)),
        gpu_type=data.get("gpu_type"),
        nodes=int(data.get("nodes", 1)),
        time_limit_s=data.get("time_limit_s"),
        priority=data.get("priority", "normal"),
        command=tuple(data["command"]) if data.get("command") else None,
        env=tuple(sorted((data.get("env") or {}).items())),
        memory=data.get("memory"),
        cpus=int(data["cpus"]) if data.get("cpus") else None,
        after=tuple(After(job=d["job"], condition=d.get("condition", "ok")) for d in data.get("after") or []),
        cluster=data.get("cluster"),
        given=frozenset(data.get("given", [])),
    )


@dataclass(frozen=True)
class Submitted:
    record: JobRecord
    created: bool


@dataclass(frozen=True)
class Pending:
    """A confirmed launch that the policy's approvals send to an approver before it is submitted."""

    token: str
    data: dict[str, Any]  # the preview: action, requester, channel, name
    ident: Identity
    launch: Launch  # as judged (template applied)
    need: NeedsApproval


class LaunchService:
    def __init__(self, rt: LaunchPorts) -> None:
        self.rt = rt

    def _record(self, a: Launch, ident: Identity, name: str, token: str, channel: str | None) -> JobRecord:
        assert a.image is not None and a.gpu_type is not None and a.time_limit_s is not None
        after, met = resolve_after(self.rt.store, ident, a, name) if a.after else ([], False)
        return JobRecord(
            name=name,
            namespace=ident.namespace,
            team=ident.team,
            owner=ident.user_id,
            image=a.image,
            gpus=a.gpus,
            gpu_type=a.gpu_type,
            nodes=a.nodes,
            time_limit_s=a.time_limit_s,
            priority=a.priority,
            command=list(a.command) if a.command else None,
            env=dict(a.env),
            template=a.template,
            memory=a.memory,
            cpus=a.cpus,
            kind=self.rt.policy.kind_for(a.template),
            submitted_at=self.rt.clock(),
            idempotency_key=token,
            channel=channel,
            after=after,
            after_met=met,
            cluster_wanted=a.cluster,
            reason=None if met or not after else first_waited(self.rt.store, after),
        )

    def _name(self, a: Launch, ident: Identity, token: str) -> str:
        if a.name is not None:
            if self.rt.store.name_taken(ident.namespace, a.name):
                free = self.rt.store.free_name(ident.namespace, a.name)
                raise ValidationError(msg.name_taken(a.name), _renamed(a, free))
            return a.name
        base = a.template or (a.image or "job").rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
        return self.rt.store.free_name(ident.namespace, suggest_job_name(f"{base}-{token[:5]}"))

    def settled_fix(self, fix: Action | str | None, user_id: str) -> Action | str | None:
        """A refusal's fix followed through the policy for ``user_id`` (see ``policy.fixes``)."""
        try:
            ident = identify(self.rt.policy, user_id)
            facts = self.rt.cluster.snapshot().facts
        except (Refusal, BackendError):
            return fix  # not a member, or the cluster is not reachable: the grammar's fix as it is
        return settle(self.rt.policy, ident, fix, facts)

    def preview(self, action: Launch, user_id: str, channel: str, token: str,
                based_on: str | None = None) -> rendering.Reply:
        """Judge the launch (schema, policy, cluster facts, dry-run) and show what it will do."""
        existing = self.rt.store.get_by_idempotency_key(token)
        if existing is not None:  # a retried request whose launch was already confirmed
            return rendering.text_reply(msg.launch_submitted(existing.name, existing.channel))
        ident = identify(self.rt.policy, user_id)
        snapshot = self.rt.cluster.snapshot()
        a = judge_launch(self.rt.policy, ident, action, snapshot.facts)
        name = self._name(a, ident, token)
        record = self._record(a, ident, name, token, channel)
        self._dry_run(record, a)
        self.rt.previews.put(
            token, {"kind": "launch", "action": to_dict(action), "requester": user_id, "channel": channel,
                    "name": name}
        )
        need = self.approval_for(ident, a)
        notes = [msg.creates_kind(record.kind, self.rt.policy.trainer.runtime)] if record.kind != "job" else []
        if need:
            notes.append(msg.approval_needed_note(need.approvers, need.reasons))
        return rendering.preview(record, token, based_on, "\n".join(notes) or None)

    def approval_for(self, ident: Identity, a: Launch) -> NeedsApproval | None:
        """The approval rule the judged launch ``a`` falls under, if any (first match wins)."""
        if not self.rt.policy.approvals:
            return None
        held = self.rt.store.list(team=ident.team, states=["queued", *RUNNING_STATES], limit=10_000)
        return approval_needed(self.rt.policy, ident.team, a, sum(r.gpus for r in held))

    def _dry_run(self, record: JobRecord, a: Launch) -> None:
        try:
            self.rt.cluster.dry_run(render_workload(record, self.rt.policy))
        except NamespaceMissing as err:
            # Nothing the user can type fixes it: the namespace is the platform's to create.
            raise ClusterFactError(msg.namespace_missing(err.namespace), None) from err
        except DryRunRejected as err:
            raise ValidationError(msg.dry_run_rejected(str(err)), a) from err

    def confirm(self, token: str, clicker: str) -> Submitted | Pending:
        """The [Launch] click: re-check who clicks and the policy, then submit exactly once (or, when an
        approval rule matches, hand it to the approvals: ``Pending``)."""
        existing = self.rt.store.get_by_idempotency_key(token)
        if existing is not None:
            if existing.card_ts is None:
                publish_card(self.rt, existing)  # a click again after a crash: its card is owed (once)
            return Submitted(existing, created=False)
        data = self.rt.previews.get(token)
        if data is None or data.get("kind") != "launch":
            raise ForbiddenError(msg.preview_expired(), None)
        if data["requester"] != clicker:
            raise ForbiddenError(msg.not_your_preview(data["requester"]), None)
        ident = identify(self.rt.policy, clicker)
        action = launch_from_dict(data["action"])
        a = check_launch(self.rt.policy, ident, action, self.rt.cluster.snapshot().facts)
        need = self.approval_for(ident, a)
        if need is not None:
            return Pending(token, data, ident, a, need)
        return self._submit(token, data, ident, a, approved_by=None)

    def submit_approved(self, token: str, data: dict[str, Any], approver: str) -> Submitted:
        """An approved launch: judged again for its requester (the policy may have changed), then submitted
        with the same idempotency key as a click, so a second approval or a retry finds the same job."""
        existing = self.rt.store.get_by_idempotency_key(token)
        if existing is not None:
            if existing.card_ts is None:
                publish_card(self.rt, existing)  # approved again after a crash: its card is owed (once)
            return Submitted(existing, created=False)
        ident = identify(self.rt.policy, data["requester"])
        a = check_launch(self.rt.policy, ident, launch_from_dict(data["action"]), self.rt.cluster.snapshot().facts)
        return self._submit(token, data, ident, a, approved_by=approver)

    def _submit(self, token: str, data: dict[str, Any], ident: Identity, a: Launch,
                approved_by: str | None) -> Submitted:
        record = self._record(a, ident, data["name"], token, data.get("channel"))
        record.approved_by = approved_by
        self.rt.desk.owe(record)  # durably before the job exists: a crash right after submit still gets a card
        result = self.rt.store.submit(record)
        if result.conflict:
            free = self.rt.store.free_name(ident.namespace, record.name)
            raise ValidationError(msg.name_taken(record.name), _renamed(a, free))
        if result.created:
            approval = f", approved by {approved_by}" if approved_by else ""
            audit(self.rt, ident.user_id, ident.team, "launch.submitted", result.record.key,
                  f"ok: {a.gpus} × {a.gpu_type}{approval}")
            publish_card(self.rt, result.record)
            self.rt.wake_dispatcher()
        return Submitted(result.record, result.created)

    def cancel(self, token: str, clicker: str) -> None:
        data = self.rt.previews.get(token)
        if data is not None and data["requester"] != clicker:
            raise ForbiddenError(msg.not_your_preview(data["requester"]), None)
        self.rt.previews.take(token)


def _renamed(a: Launch, name: str) -> Launch:
    import dataclasses

    return dataclasses.replace(a, name=name)
