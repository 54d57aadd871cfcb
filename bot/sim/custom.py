"""The admission webhooks of the custom resources the sim serves (JobSet's, Trainer's): defaults, then
checks answered as 422 Invalid, as the webhooks' field errors reach kubectl."""

from __future__ import annotations

from bot.domain.cluster.objects import Obj
from bot.sim.jobset import admission as jobset
from bot.sim.status import Resource, invalid
from bot.sim.store import Store
from bot.sim.trainer import admission as trainer

# what ``--jobset`` and ``--trainer`` add (Trainer builds on JobSet, so it brings JobSet too)
EXTENSIONS = {"jobset": frozenset({"jobset.x-k8s.io"}),
              "trainer": frozenset({"jobset.x-k8s.io", "trainer.kubeflow.org"})}


def admit(store: Store, res: Resource, obj: Obj) -> None:
    name = obj["metadata"]["name"]
    if res.plural == "jobsets":
        jobset.default(obj)
        problems = jobset.problems(obj)
    elif res.plural == "trainjobs":
        trainer.default(obj, store.now())
        problems = trainer.problems(obj, store)
    else:
        return
    if problems:
        raise invalid(res, name, problems)
