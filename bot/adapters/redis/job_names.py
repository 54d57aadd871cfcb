"""Job names in the store: a finished job's name may be used again; the first free name of a base."""

from __future__ import annotations

from contextlib import AbstractContextManager

import redis

from bot.domain.jobs import FINAL_STATES, JobRecord
from bot.domain.names import MAX_JOB_NAME


class JobNames:
    _r: redis.Redis
    prefix: str

    def _backend(self, op: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _k(self, suffix: str) -> str:
        return self.prefix + suffix

    def get(self, namespace: str, name: str) -> JobRecord | None:
        raise NotImplementedError

    def name_taken(self, namespace: str, name: str) -> bool:
        """True while a job of that name has not finished; a finished job's name may be used again."""
        record = self.get(namespace, name)
        return record is not None and record.state not in FINAL_STATES

    def free_name(self, namespace: str, base: str) -> str:
        """``base``, ``base-2``, ``base-3``... the first not taken, cut to fit MAX_JOB_NAME.

        A hint, not a reservation: submit still answers conflict if someone takes it first.
        """
        if not base:
            raise ValueError("free_name needs a non-empty base name")
        start = 1
        while True:
            candidates = [self._candidate(base, n) for n in range(start, start + 50)]
            with self._backend("name check"):
                pipe = self._r.pipeline(transaction=False)
                for c in candidates:
                    pipe.get(self._k(f"job:{namespace}/{c}"))
                taken = [raw is not None and JobRecord.from_json(raw).state not in FINAL_STATES
                         for raw in pipe.execute()]
            for c, t in zip(candidates, taken, strict=True):
                if not t:
                    return c
            start += 50

    @staticmethod
    def _candidate(base: str, n: int) -> str:
        if n == 1:
            return base[:MAX_JOB_NAME].rstrip("-")
        suffix = f"-{n}"
        return base[: MAX_JOB_NAME - len(suffix)].rstrip("-") + suffix
