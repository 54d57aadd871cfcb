"""What must hold for every launch after a chaos run, whatever happened on the way."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bot.adapters.redis.queue_store import QueueStore
from tests.chaos.harness import Launch, Rig, idempotency_key


def job_state(job: dict[str, Any]) -> str:
    """A Kubernetes Job's state in the bot's words (what its card must end showing)."""
    status = job.get("status") or {}
    for c in status.get("conditions") or []:
        if c.get("status") != "True":
            continue
        if c.get("type") == "Complete":
            return "succeeded"
        if c.get("type") == "Failed":
            return "timedout" if c.get("reason") == "DeadlineExceeded" else "failed"
    return "running" if status.get("active") else "pending"


@dataclass
class Figures:
    launches: int = 0
    submitted: int = 0
    told_error: int = 0
    jobs: int = 0
    cards: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"launches={self.launches} submitted={self.submitted} told_error={self.told_error} "
                f"k8s_jobs={self.jobs} cards={self.cards} problems={len(self.problems)}")


def check(rig: Rig, launches: list[Launch]) -> Figures:
    """Exactly one Job and one card per submitted launch, its final card state the Job's; every user
    told the truth (success: the job exists; an error: nothing was made for that click)."""
    fig = Figures(launches=len(launches))
    jobs = rig.cluster_jobs()
    fig.jobs = len(jobs)
    by_key = Counter(idempotency_key(j) for j in jobs)
    store = QueueStore.from_url(rig.redis.url)
    for launch in launches:
        record = store.get_by_idempotency_key(launch.token) if launch.token else None
        mine = [j for j in jobs if launch.token and idempotency_key(j) == launch.token]
        cards = rig.cards(launch.name)
        fig.cards += len(cards)
        if launch.submitted:
            fig.submitted += 1
            if record is None:
                fig.problems.append(f"{launch.name}: told {launch.final!r} but no record")
                continue
            if len(mine) != 1 or by_key[launch.token or ""] != 1:
                fig.problems.append(f"{launch.name}: {len(mine)} Kubernetes Jobs")
            if len(cards) != 1:
                fig.problems.append(f"{launch.name}: {len(cards)} cards {[ts for ts, _ in cards]}")
            elif record.card_ts != cards[0][0]:
                fig.problems.append(f"{launch.name}: record card_ts {record.card_ts} is not its card {cards[0][0]}")
            if mine and cards:
                shown = str(cards[0][1].get("text", "")).rpartition(": ")[2]
                if shown != job_state(mine[0]) or record.state != shown:
                    fig.problems.append(f"{launch.name}: card shows {shown!r}, record {record.state!r}, "
                                        f"Job {job_state(mine[0])!r}")
        else:
            fig.told_error += 1
            if cards:
                fig.problems.append(f"{launch.name}: told {launch.final!r} (an error) but it has a card")
            if record is not None or mine:
                fig.problems.append(f"{launch.name}: told {launch.final!r} (an error) but the job exists")
    store.client.close()
    return fig
