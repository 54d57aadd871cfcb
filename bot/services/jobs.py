"""Looking at and stopping jobs: status, list, logs, queue, GPUs, stop (with confirmation)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from bot.domain import messages as msg
from bot.domain.actions import Help, ListJobs, Logs, Status, Stop
from bot.domain.errors import BackendError, ForbiddenError, NotFoundError
from bot.domain.jobs import ACTIVE_STATES, CONTRACT_STATES, RUNNING_STATES, JobRecord
from bot.domain.policy.judge import Identity, check_stop, identify, may_read_logs, may_see
from bot.domain.scheduling.pools import gpu_pools, pooled_facts
from bot.render import queue as queue_render
from bot.render import replies as rendering
from bot.services.audit import record as audit
from bot.services.cards import publish_card
from bot.services.kueue_follow import kueue_queue
from bot.services.logs import logs_reply
from bot.services.needs import JobsPorts
from bot.services.queue_view import ordered_queue

log = logging.getLogger(__name__)


class JobsService:
    def __init__(self, rt: JobsPorts) -> None:
        self.rt = rt

    # --- finding jobs ----------------------------------------------------------------------------

    def _mine(self, ident: Identity) -> list[JobRecord]:
        return self.rt.store.list(owner=ident.user_id, limit=20)

    def find(self, ident: Identity, name: str) -> JobRecord:
        """The job called ``name`` that the asker may see: their namespace first, then (admins) any."""
        record = self.rt.store.get(ident.namespace, name) if ident.namespace else None
        if record is None:  # another team's job: visible to all (``may_see``), newest of that name
            found = [r for r in self.rt.store.find(name) if may_see(ident, r)]
            record = found[0] if found else None
        if record is None or not may_see(ident, record):
            mine = [r.name for r in self._mine(ident) if r.state in ACTIVE_STATES][:8]
            raise NotFoundError(msg.job_not_found(name, mine), ListJobs())
        return record

    def _latest(self, ident: Identity) -> JobRecord:
        mine = self._mine(ident)
        if not mine:
            raise NotFoundError(msg.no_jobs_yet(), Help(topic="launch"))
        return mine[0]

    def _position(self, r: JobRecord) -> int | None:
        return self.rt.store.position(r.namespace, r.name) if r.state == "queued" else None

    # --- reading ---------------------------------------------------------------------------------

    def status(self, action: Status, user_id: str) -> rendering.Reply:
        ident = identify(self.rt.policy, user_id)
        r = self.find(ident, action.job) if action.job else self._latest(ident)
        pods = []
        if r.state in RUNNING_STATES:
            for pod in self.rt.cluster.job_pods(r.namespace, r.name):
                phase = pod.get("status", {}).get("phase", "?")
                node = pod.get("spec", {}).get("nodeName") or "not scheduled"
                pods.append(f"`{pod['metadata']['name']}` · {phase} · {node}")
        return rendering.status(r, self._position(r), pods)

    def list_jobs(self, action: ListJobs, user_id: str) -> rendering.Reply:
        ident = identify(self.rt.policy, user_id)
        states = CONTRACT_STATES[action.state] if action.state else None
        if action.scope == "mine":
            records, title = self.rt.store.list(owner=ident.user_id, states=states), "Your jobs"
        elif action.scope == "team":
            records, title = self.rt.store.list(team=ident.team, states=states), f"Team {ident.team}'s jobs"
        else:
            records, title = self.rt.store.list(states=states), "All jobs"
        if action.state:
            title += f" ({action.state})"
        shown = [(r, self._position(r)) for r in records if may_see(ident, r)]  # the rule `status` follows
        return rendering.job_list(title, shown)

    def logs(self, action: Logs, user_id: str) -> rendering.Reply:
        ident = identify(self.rt.policy, user_id)
        r = self.find(ident, action.job) if action.job else self._latest(ident)
        if not may_read_logs(ident, r):
            raise ForbiddenError(msg.logs_not_yours(r.name, r.team), Status(job=r.name))
        return logs_reply(self.rt, r, action.tail, user_id)

    def queue(self, user_id: str) -> rendering.Reply:
        """The queue in the scheduler's order, with ETA and reason; the asker's jobs highlighted."""
        kueue = self.rt.policy.scheduler.mode == "kueue"
        ordered = kueue_queue(self.rt) if kueue else ordered_queue(self.rt)
        return queue_render.queue_reply(ordered, user_id, self.rt.clock())

    def gpus(self) -> rendering.Reply:
        snap = self.rt.cluster.snapshot()
        facts = pooled_facts(snap.facts) if snap.clusters else snap.facts  # several clusters: by cluster
        rows = []
        for label, pool in gpu_pools(self.rt.policy, snap):
            cap = facts.capacity(pool)
            if cap:
                free = facts.free(pool)
                rows.append((label, cap, cap - free, free))
        return rendering.gpus_table(rows, [msg.gpus_cluster_unreachable(c, t) for c, t in snap.unreachable.items()])

    # --- stopping --------------------------------------------------------------------------------

    def _targets(self, action: Stop, ident: Identity) -> list[JobRecord]:
        if action.jobs:
            return [self.find(ident, name) for name in action.jobs]
        states = CONTRACT_STATES[action.state] if action.state else tuple(sorted(ACTIVE_STATES))
        scope = action.scope or "mine"
        if scope == "mine":
            return self.rt.store.list(owner=ident.user_id, states=states)
        if scope == "team":
            return self.rt.store.list(team=ident.team, states=states)
        return self.rt.store.list(states=states)

    def request_stop(self, action: Stop, user_id: str, request_key: str) -> rendering.Reply:
        """Stop now when it is one job of one's own; otherwise ask for a confirmation first."""
        ident = identify(self.rt.policy, user_id)
        found = self._targets(action, ident)
        targets = [r for r in found if r.state in ACTIVE_STATES]
        # a job named explicitly that has ended is said so, with when: not "no job matches"
        ended = [msg.already_finished(r.name, r.state, r.finished_at, self.rt.clock())
                 for r in found if r.state not in ACTIVE_STATES and action.jobs]
        if not targets:
            if ended:
                return rendering.text_reply("\n".join(ended))
            raise NotFoundError(msg.nothing_to_stop(), ListJobs())
        others = [r for r in targets if r.owner != ident.user_id]
        if others and not action.jobs and not ident.is_admin:
            # A selector over others' jobs: say why, and offer the part that would work.
            mine = any(r.owner == ident.user_id for r in targets)
            fix = Stop(scope="mine", state=action.state) if mine else ListJobs()
            raise ForbiddenError(msg.only_admins_stop_others([r.name for r in others], others[0].owner), fix)
        for r in targets:
            check_stop(ident, r)
        if len(targets) == 1 and targets[0].owner == ident.user_id:
            return rendering.text_reply("\n".join([self.stop(targets, ident), *ended]))
        token = hashlib.sha256(f"stop\0{user_id}\0{request_key}".encode()).hexdigest()[:20]
        self.rt.previews.put(token, {"kind": "stop", "keys": [r.key for r in targets], "requester": user_id})
        return rendering.stop_confirm([r.name for r in targets], token)

    def confirm_stop(self, token: str, clicker: str) -> rendering.Reply:
        data = self.rt.previews.take(token)
        if data is None or data.get("kind") != "stop":
            raise ForbiddenError(msg.preview_expired(), None)
        if data["requester"] != clicker:
            self.rt.previews.put(token, data)  # not theirs to answer: leave it for the requester
            raise ForbiddenError(msg.not_your_preview(data["requester"]), None)
        ident = identify(self.rt.policy, clicker)
        records = [r for key in data["keys"] if (r := self.rt.store.get(*key.split("/", 1)))]
        for r in records:
            check_stop(ident, r)
        return rendering.text_reply(self.stop(records, ident))

    def stop_button(self, key: str, user_id: str) -> rendering.Reply:
        """The [Stop] button on a card: refuse whoever may not stop it, else ask them to confirm."""
        ident = identify(self.rt.policy, user_id)
        namespace, _, name = key.partition("/")
        record = self.rt.store.get(namespace, name)
        if record is None or not may_see(ident, record):
            raise NotFoundError(msg.job_not_found(name, []), ListJobs())
        check_stop(ident, record)
        if record.state not in ACTIVE_STATES:
            return rendering.text_reply(msg.already_finished(record.name, record.state, record.finished_at,
                                                            self.rt.clock()))
        token = hashlib.sha256(f"stop-button\0{user_id}\0{key}".encode()).hexdigest()[:20]
        self.rt.previews.put(token, {"kind": "stop", "keys": [key], "requester": user_id})
        return rendering.stop_confirm([record.name], token)

    def stop_key(self, key: str, user_id: str) -> rendering.Reply:
        """The [Stop] button on a card (Slack already asked the clicker to confirm)."""
        ident = identify(self.rt.policy, user_id)
        namespace, _, name = key.partition("/")
        record = self.rt.store.get(namespace, name)
        if record is None or not may_see(ident, record):
            raise NotFoundError(msg.job_not_found(name, []), ListJobs())
        check_stop(ident, record)
        return rendering.text_reply(self.stop([record], ident))

    def stop(self, records: list[JobRecord], ident: Identity) -> str:
        """Stop each job; the reply says, job by job, what happened (re-read, never assumed)."""
        out = StopOutcome()
        for r in records:
            try:
                done = self._stop_one(r, ident)
            except BackendError as err:
                audit(self.rt, ident.user_id, ident.team, "stop", r.key, f"error: {err.system} did not answer")
                if len(records) == 1:
                    raise  # one job: the error's own truthful reply (busy, or outcome unknown)
                (out.unknown if err.ambiguous else out.not_applied).append(r.name)
                continue
            if done.state == "stopped" and done.stopped_by == ident.user_id:
                out.stopped.append(done.name)
                audit(self.rt, ident.user_id, ident.team, "stop", done.key, f"ok: was {r.state}")
            else:
                out.ended.append(done)
                audit(self.rt, ident.user_id, ident.team, "stop", done.key, f"refused: already {done.state}")
        self.rt.wake_dispatcher()
        lines = [msg.stopped(out.stopped, out.not_applied, out.unknown)] if out.stopped or out.not_applied \
            or out.unknown else []
        now = self.rt.clock()
        lines += [msg.already_finished(r.name, r.state, r.finished_at, now) for r in out.ended]
        return "\n".join(lines) or msg.stop_cancelled()

    def _stop_one(self, r: JobRecord, ident: Identity) -> JobRecord:
        """The record after the stop: ``stopped``, or the final state it had reached first."""
        reason = msg.stopped_by(ident.user_id)
        done = self.rt.store.transition(r.namespace, r.name, ["queued"], "stopped", finished_at=self.rt.clock(),
                                        stopped_by=ident.user_id, reason=reason)
        if done is not None:
            if self.rt.policy.scheduler.mode == "kueue":
                # a queued job already has its suspended Job (Kueue's Workload waits on it): remove it
                self.rt.cluster.delete_job(r.namespace, r.name)
            publish_card(self.rt, done)
            return done
        fresh = self.rt.store.get(r.namespace, r.name) or r
        if fresh.state not in RUNNING_STATES:
            return fresh  # finished (or stopped) before this stop reached it
        # The intent first: whoever sees the Job vanish from now on (the watcher, the dispatcher's
        # safety net, another replica after a crash) knows this stop deleted it.
        self.rt.store.update(r.namespace, r.name, stopped_by=ident.user_id)
        try:
            self.rt.cluster.delete_job(r.namespace, r.name, kind=r.kind)  # reads back after an ambiguous answer
        except BackendError as err:
            if not err.ambiguous:  # it was read back and is still there: nothing changed
                self.rt.store.update(r.namespace, r.name, stopped_by=None)
            raise
        done = self.rt.store.transition(r.namespace, r.name, RUNNING_STATES, "stopped",
                                        finished_at=self.rt.clock(), stopped_by=ident.user_id, reason=reason)
        if done is None:
            now = self.rt.store.get(r.namespace, r.name) or fresh
            if now.state != "failed" or now.reason != msg.MENDED_GONE:
                return now  # stopped meanwhile (the safety net saw our intent), or it really ended first
            # The Job is gone because of us: the stop wins over "disappeared" seen meanwhile.
            done = self.rt.store.transition(r.namespace, r.name, ["failed"], "stopped", diagnosis=None,
                                            finished_at=self.rt.clock(), stopped_by=ident.user_id, reason=reason)
            if done is None:
                return self.rt.store.get(r.namespace, r.name) or now
        publish_card(self.rt, done)
        return done


@dataclass
class StopOutcome:
    stopped: list[str] = field(default_factory=list)
    ended: list[JobRecord] = field(default_factory=list)  # it had reached a final state first
    not_applied: list[str] = field(default_factory=list)  # the cluster did not take the delete
    unknown: list[str] = field(default_factory=list)  # neither the delete nor a read back answered
