"""Lua scripts of the queue store (``queue_store.py``): each runs as one atomic step in Redis.

Keys are built inside the scripts from the prefix (ARGV[1]) because some depend on what the script
reads (the job an idempotency key points to, the current state). That is fine on a standalone Redis,
which is what the bot uses; it would not be on Redis Cluster.
"""

from __future__ import annotations

# Idempotency keys and job names live in BUCKETS small hashes each, ``idem:{n}`` (key -> ns/name) and
# ``names:{n}`` (name -> its jobs' keys, space-separated, oldest first), n from the key or name
# (``bucket``): a small hash is stored packed (a listpack), about a third of the bytes of a hash of
# 100,000 fields or of a zset per name. ``idem`` (one hash) and ``idx:name:{name}`` (zsets) are still
# read and cleaned: records stored before the buckets.
BUCKETS = 16384
IDEM = f"""
local function bucket(p, kind, s)
  local h = 0
  for i = 1, #s do h = (h * 31 + string.byte(s, i)) % {BUCKETS} end
  return p .. kind .. ':' .. h
end
local function idem_key(p, ik) return bucket(p, 'idem', ik) end
local function name_add(p, name, jk)
  local b = bucket(p, 'names', name)
  local cur = redis.call('HGET', b, name)
  redis.call('HSET', b, name, cur and (cur .. ' ' .. jk) or jk)
end
-- replace ``from`` by ``to`` in the name's list (``to`` nil: remove it)
local function name_swap(p, name, from, to)
  local b = bucket(p, 'names', name)
  local cur = redis.call('HGET', b, name)
  if not cur then return end
  local out = {{}}
  for m in string.gmatch(cur, '%S+') do
    if m ~= from then table.insert(out, m) elseif to then table.insert(out, to) end
  end
  if #out == 0 then redis.call('HDEL', b, name) else redis.call('HSET', b, name, table.concat(out, ' ')) end
end
"""


def bucket(s: str) -> int:
    """The bucket of an idempotency key or a name: the very hash ``bucket`` computes in the scripts."""
    h = 0
    for b in s.encode():
        h = (h * 31 + b) % BUCKETS
    return h


# ARGV: prefix, job key (ns/name), idempotency key, record JSON, owner, team, name, state, history entry,
# 'parked' or ''.
# Returns {code, record JSON}: 0 created, 1 the idempotency key was seen (that job), 2 name taken.
# A name held by a finished job is free again (as sbatch allows): that record is archived under
# "ns/name#seq" (its indexes, history and idempotency key follow it), so it stays in lists and
# history, and a late retry of its own submission still finds it rather than launching again.
SUBMIT = IDEM + """
local p, jk = ARGV[1], ARGV[2]
local seen = redis.call('HGET', idem_key(p, ARGV[3]), ARGV[3]) or redis.call('HGET', p .. 'idem', ARGV[3])
if seen then
  local rec = redis.call('GET', p .. 'job:' .. seen)
  if rec then return {1, rec} end
end
local cur = redis.call('GET', p .. 'job:' .. jk)
if cur then
  local r = cjson.decode(cur)  -- short field names (JobRecord.to_json), or the long ones of older records
  local old = {state = r.s or r.state, owner = r.o or r.owner, team = r.t or r.team, name = r.n or r.name,
               idempotency_key = r.ik or r.idempotency_key}
  local final = {succeeded = true, failed = true, stopped = true, timedout = true}
  if not final[old.state] then return {2, cur} end
  local oseq = redis.call('ZSCORE', p .. 'idx:all', jk)
  local aid = jk .. '#' .. oseq
  redis.call('RENAME', p .. 'job:' .. jk, p .. 'job:' .. aid)
  for _, idx in ipairs({'idx:all', 'idx:owner:' .. old.owner, 'idx:team:' .. old.team, 'idx:name:' .. old.name,
                        'idx:state:' .. old.state}) do
    if redis.call('ZREM', p .. idx, jk) == 1 then redis.call('ZADD', p .. idx, oseq, aid) end
  end
  name_swap(p, old.name, jk, aid)
  if redis.call('EXISTS', p .. 'hist:' .. jk) == 1 then
    redis.call('RENAME', p .. 'hist:' .. jk, p .. 'hist:' .. aid)
  end
  local ik = old.idempotency_key
  if ik and ik ~= '' then
    redis.call('HSET', idem_key(p, ik), ik, aid)
    redis.call('HDEL', p .. 'idem', ik)  -- (a record stored before the buckets)
  end
end
local seq = redis.call('INCR', p .. 'seq')
redis.call('SET', p .. 'job:' .. jk, ARGV[4])
redis.call('HSET', idem_key(p, ARGV[3]), ARGV[3], jk)
redis.call('ZADD', p .. 'idx:all', seq, jk)
redis.call('ZADD', p .. 'idx:owner:' .. ARGV[5], seq, jk)
redis.call('ZADD', p .. 'idx:team:' .. ARGV[6], seq, jk)
name_add(p, ARGV[7], jk)
-- queued jobs are indexed by 'queue' and 'parked' alone (no 'idx:state:queued': 100 bytes a job saved)
if ARGV[8] ~= 'queued' then redis.call('ZADD', p .. 'idx:state:' .. ARGV[8], seq, jk) end
-- a parked job (held, or waiting on dependencies) has its place in 'parked' until it may start
if ARGV[8] == 'queued' then redis.call('ZADD', p .. (ARGV[10] == 'parked' and 'parked' or 'queue'), seq, jk) end
-- the history of a job submitted queued starts with its first transition (APPLY writes the submit
-- entry then, from the record): most queued jobs need no list of their own
if ARGV[8] ~= 'queued' then redis.call('RPUSH', p .. 'hist:' .. jk, ARGV[9]) end
return {0, ARGV[4]}
"""

# Compare-and-swap of a whole record. The caller merged the fields in Python (cjson would turn
# [] into {} and round floats to 14 digits); this writes only if the record is still exactly the
# one the merge started from, and keeps the state index, the queue and the history in step.
# ARGV: prefix, job key, expected JSON, new JSON, old state, new state, history entry ('' = none), the
# submit entry (written first when the job has no history yet: see SUBMIT), and optionally a lease
# name and holder: then the write happens only while that holder owns the
# lease (the fencing check, in the same atomic step as the write: a dispatcher that lost its lease
# while paused cannot admit).
# Returns 1 when written, 0 when the record changed (or vanished) meanwhile, -1 when fenced off.
# A change of a queued job is logged in the change feed (``queue_feed.py``).
APPLY = """
local p, jk = ARGV[1], ARGV[2]
if ARGV[9] and ARGV[9] ~= '' and redis.call('GET', p .. 'lease:' .. ARGV[9]) ~= ARGV[10] then return -1 end
local key = p .. 'job:' .. jk
if redis.call('GET', key) ~= ARGV[3] then return 0 end
redis.call('SET', key, ARGV[4])
local old, new = ARGV[5], ARGV[6]
if old ~= new then
  local seq = redis.call('ZSCORE', p .. 'idx:all', jk)
  redis.call('ZREM', p .. 'idx:state:' .. old, jk)  -- (queued: only records stored before 'queue' was its index)
  if new ~= 'queued' then redis.call('ZADD', p .. 'idx:state:' .. new, seq, jk) end
  if old == 'queued' then
    redis.call('ZREM', p .. 'queue', jk)
    redis.call('ZREM', p .. 'parked', jk)
  end
  -- back in the queue at its submit sequence: a preempted job keeps its place
  if new == 'queued' then redis.call('ZADD', p .. 'queue', 'NX', seq, jk) end
end
if ARGV[7] ~= '' then
  local hist = p .. 'hist:' .. jk
  if redis.call('EXISTS', hist) == 0 then redis.call('RPUSH', hist, ARGV[8]) end
  redis.call('RPUSH', hist, ARGV[7])
end
if old == 'queued' or new == 'queued' then redis.call('ZADD', p .. 'qchg', redis.call('INCR', p .. 'qver'), jk) end
return 1
"""

# KEYS: lease, fencing counter. ARGV: holder, ttl ms. Returns the fencing token or nil.
ACQUIRE_LEASE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false
"""

# KEYS: lease. ARGV: holder, ttl ms. Returns 1 when renewed (still the holder), else 0.
RENEW_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS: lease. ARGV: holder. Deletes only the caller's own lease.
RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

# Fair-share usage: one hash field per team, "gpu_hours at". KEYS: usage hash. ARGV: lease key (''
# = unfenced), holder, then team, value pairs. Returns 1 when written, -1 when fenced off.
SAVE_USAGE = """
if ARGV[1] ~= '' and redis.call('GET', ARGV[1]) ~= ARGV[2] then return -1 end
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""
