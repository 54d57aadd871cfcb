"""Finished jobs forgotten after the policy's ``retention``: the record, its history, its index entries.

A base of ``QueueStore``. ``forget_finished`` is run now and then (the housekeeping loop); each job is
removed in one atomic step that re-checks it is still the same finished record, so a name reused
meanwhile is never touched.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import redis

from bot.adapters.redis.queue_lua import IDEM
from bot.domain.jobs import FINAL_STATES, JobRecord

# ARGV: prefix, job key (ns/name or ns/name#seq), expected JSON. Returns 1 when forgotten, 0 when changed.
FORGET = IDEM + """
local p, jk = ARGV[1], ARGV[2]
local key = p .. 'job:' .. jk
if redis.call('GET', key) ~= ARGV[3] then return 0 end
local d = cjson.decode(ARGV[3])  -- short field names (JobRecord.to_json), or the long ones of older records
local r = {state = d.s or d.state, owner = d.o or d.owner, team = d.t or d.team, name = d.n or d.name,
           idempotency_key = d.ik or d.idempotency_key}
redis.call('DEL', key, p .. 'hist:' .. jk)
for _, idx in ipairs({'idx:all', 'idx:owner:' .. r.owner, 'idx:team:' .. r.team, 'idx:name:' .. r.name,
                      'idx:state:' .. r.state}) do
  redis.call('ZREM', p .. idx, jk)  -- (idx:name: only records stored before the name buckets)
end
name_swap(p, r.name, jk, nil)
local ik = r.idempotency_key
if ik and ik ~= '' then
  local bucket = idem_key(p, ik)
  if redis.call('HGET', bucket, ik) == jk then redis.call('HDEL', bucket, ik) end
  if redis.call('HGET', p .. 'idem', ik) == jk then redis.call('HDEL', p .. 'idem', ik) end
end
return 1
"""

_CHUNK = 500


def _s(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Retention:
    _r: redis.Redis
    prefix: str

    def _register_retention_scripts(self, client: redis.Redis) -> None:
        self._forget = client.register_script(FORGET)

    def _backend(self, op: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _k(self, suffix: str) -> str:
        return self.prefix + suffix

    def forget_finished(self, before: float, limit: int = 10_000) -> int:
        """Forget up to ``limit`` jobs that finished before ``before``; returns how many."""
        forgotten = 0
        for state in sorted(FINAL_STATES):
            start = 0
            while forgotten < limit:
                with self._backend("retention"):
                    jks = [_s(j) for j in self._r.zrange(self._k(f"idx:state:{state}"), start, start + _CHUNK - 1)]
                    if not jks:
                        break
                    raws = self._r.mget([self._k("job:" + jk) for jk in jks])
                kept = 0
                for jk, raw in zip(jks, raws, strict=True):
                    if not raw:
                        continue  # gone meanwhile: it left the index with it
                    r = JobRecord.from_json(raw)
                    if r.finished_at is None or r.finished_at >= before:
                        kept += 1
                        continue
                    with self._backend("retention"):
                        forgotten += int(self._forget(args=[self.prefix, jk, raw]))
                    if forgotten >= limit:
                        break
                start += kept  # the forgotten ones left the index: the next chunk starts after the kept
        return forgotten
