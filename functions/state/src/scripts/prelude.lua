-- Shared by every state script (prepended to each).
-- Replies are flat arrays, status first: Spin's Redis `execute` flattens
-- nested ones.
--
-- KEYS, the same for every script (all share the hash tag {s}, so the
-- entry keys the scripts derive from ARGV[1] live in the same cluster slot):
--   1 rev        string  the global revision
--   2 index      zset    every live key, score 0, read with ZRANGEBYLEX
--   3 sizes      hash    key -> bytes of its value
--   4 total      string  the sum of sizes
--   5 meta       set     keys that carry metadata
--   6 ttl        zset    key -> expiry in ms since the epoch
--   7 events     list    the change feed: one stored event per revision
--   8 compacted  string  the last revision dropped from the feed
--   9 snaps      zset    revision -> revision of each kept snapshot
--  10 snapinfo   hash    revision -> '<created_at> <keys>'
--  11 snapclock  string  when the timed snapshots' interval started (ms):
--                        the newest snapshot's time, or the first write's
--  12 counters   hash    counts the metrics report, kept by the scripts
--                        that already run (count)
-- ARGV: 1 entry key prefix, 2 events retained, 3 snapshot key prefix,
-- 4 the record key of the request's Idempotency-Key or '' (none; in the
-- same slot), 5 the request's fingerprint, 6 seconds to keep its record,
-- 7 seconds an entry outlives its ttl in Redis, 8 snapshot_interval_secs
-- (0: no timed snapshots), 9 max_snapshots, then the script's own
-- arguments (from 10).
local K_REV, K_INDEX, K_SIZES, K_TOTAL, K_META = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_TTL, K_EVENTS, K_COMPACTED, K_SNAPS, K_SNAPINFO = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local K_SNAPCLOCK, K_COUNTERS = KEYS[11], KEYS[12]
local ENTRY_PREFIX, RETENTION, SNAP_PREFIX = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local RECORD_KEY, FINGERPRINT, RECORD_TTL = ARGV[4], ARGV[5], tonumber(ARGV[6])
local EXPIRE_GRACE = tonumber(ARGV[7])
local SNAPSHOT_INTERVAL, MAX_SNAPSHOTS = tonumber(ARGV[8]), tonumber(ARGV[9])

-- One clock for every instance of the component: Redis's.
local NOW
do
  local t = redis.call('TIME')
  NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Counts one more of `what` for the metrics (metrics.lua reads them).
local function count(what)
  redis.call('HINCRBY', K_COUNTERS, what, 1)
end

local function entry_key(key)
  return ENTRY_PREFIX .. key
end

local function revision()
  return tonumber(redis.call('GET', K_REV) or '0')
end

-- A change, stored in parts as tombola-core's `Event::encode` lays them
-- out (the feed builds the JSON from them): the tag 'e1', the revision,
-- the kind ('put', 'delete' or 'expire'), the time, the key, the source
-- and the old value's length, a line each, then the old and the new
-- value's stored JSON text back to back ('' for none).
local function event(rev, key, kind, old, new, source)
  count('change:' .. kind)
  old, new = old or '', new or ''
  return table.concat({'e1', rev, kind, NOW, key, source, #old, old .. new}, '\n')
end

-- Appends one revision to the feed, trimming it to RETENTION revisions.
local function push(stored)
  local len = redis.call('RPUSH', K_EVENTS, stored)
  if len > RETENTION then
    redis.call('LTRIM', K_EVENTS, len - RETENTION, -1)
    redis.call('INCRBY', K_COMPACTED, len - RETENTION)
  end
end

-- Bumps the revision and appends the change to the feed.
local function emit(key, kind, old, new, source)
  local rev = redis.call('INCR', K_REV)
  push(event(rev, key, kind, old, new, source))
  return rev
end

-- Records a change: on its own revision (emit), or, given a transaction's
-- `group` ({events = {}}), on the group's one revision, taken by its
-- first change and pushed with the rest by `commit`.
local function change(group, key, kind, old, new, source)
  if not group then
    return emit(key, kind, old, new, source)
  end
  if not group.rev then
    group.rev = redis.call('INCR', K_REV)
  end
  group.events[#group.events + 1] = event(group.rev, key, kind, old, new, source)
  return group.rev
end

-- Pushes a transaction's changes as its one revision, in the layout of
-- tombola-core's `Event::encode_revision`: a lone change as itself,
-- several as 'g1', their count and their lengths, a line each, then the
-- changes back to back.
local function commit(group)
  local events = group.events
  if #events == 1 then
    push(events[1])
  elseif #events > 1 then
    local lengths = {}
    for i = 1, #events do
      lengths[i] = #events[i]
    end
    push(table.concat({'g1', #events, table.concat(lengths, ','), table.concat(events)}, '\n'))
  end
end

-- Drops a key from the index and the statistics.
local function forget(key)
  local size = redis.call('HGET', K_SIZES, key)
  if size then
    redis.call('DECRBY', K_TOTAL, size)
  end
  redis.call('ZREM', K_INDEX, key)
  redis.call('HDEL', K_SIZES, key)
  redis.call('SREM', K_META, key)
  redis.call('ZREM', K_TTL, key)
end

-- Removes the keys whose ttl ran out, one 'expire' event each. The entry
-- outlives its ttl in Redis by EXPIRE_GRACE seconds, so its value is
-- still there unless no script ran in that time (then the event has no
-- old value).
local function purge()
  local expired = redis.call('ZRANGEBYSCORE', K_TTL, '-inf', NOW)
  for i = 1, #expired do
    local key = expired[i]
    local old = redis.call('HGET', entry_key(key), 'v')
    redis.call('DEL', entry_key(key))
    forget(key)
    emit(key, 'expire', old, nil, 'ttl')
  end
end

-- Writes a key: value and metadata are JSON text (metadata '' for none),
-- ttl in seconds (0 for none), `group` a transaction's or nil (change).
-- Returns the new revision and the revision that created the key.
local function put(key, value, meta, ttl, source, group)
  local ek = entry_key(key)
  local old = redis.call('HGET', ek, 'v')
  local created = redis.call('HGET', ek, 'c')
  local rev = change(group, key, 'put', old, value, source)
  created = created or rev
  redis.call('DEL', ek)
  local fields = {'v', value, 'c', created, 'r', rev, 't', NOW, 's', source}
  if meta ~= '' then
    fields[#fields + 1] = 'm'
    fields[#fields + 1] = meta
    redis.call('SADD', K_META, key)
  else
    redis.call('SREM', K_META, key)
  end
  if ttl > 0 then
    fields[#fields + 1] = 'x'
    fields[#fields + 1] = ttl
  end
  redis.call('HSET', ek, unpack(fields))
  redis.call('ZADD', K_INDEX, 0, key)
  local old_size = tonumber(redis.call('HGET', K_SIZES, key) or '0')
  redis.call('HSET', K_SIZES, key, #value)
  redis.call('INCRBY', K_TOTAL, #value - old_size)
  if ttl > 0 then
    local at = NOW + ttl * 1000
    redis.call('PEXPIREAT', ek, at + EXPIRE_GRACE * 1000)
    redis.call('ZADD', K_TTL, at, key)
  else
    redis.call('ZREM', K_TTL, key)
  end
  return rev, created
end

-- Deletes a key (`group` as for put); returns the new revision, or nil if
-- there was no key.
local function remove(key, source, group)
  local ek = entry_key(key)
  local old = redis.call('HGET', ek, 'v')
  if not old then
    return nil
  end
  redis.call('DEL', ek)
  forget(key)
  return change(group, key, 'delete', old, nil, source)
end

-- Captures every entry at the current revision into a list of
-- (key, value, metadata or '', ttl seconds or 0) and keeps at most
-- MAX_SNAPSHOTS of them, dropping the oldest. Returns {revision,
-- created_at, keys, dropped revision...}.
local function snapshot()
  redis.call('SET', K_SNAPCLOCK, NOW)
  local rev = revision()
  local info = redis.call('HGET', K_SNAPINFO, rev)
  if info then
    -- Nothing changed since that snapshot: it already is this one.
    local created, count = string.match(info, '^(%d+) (%d+)$')
    return {rev, created, count}
  end
  local sk = SNAP_PREFIX .. rev
  local keys = redis.call('ZRANGE', K_INDEX, 0, -1)
  for i = 1, #keys do
    local f = redis.call('HMGET', entry_key(keys[i]), 'v', 'm', 'x')
    redis.call('RPUSH', sk, keys[i], f[1], f[2] or '', f[3] or 0)
  end
  redis.call('ZADD', K_SNAPS, rev, rev)
  redis.call('HSET', K_SNAPINFO, rev, NOW .. ' ' .. #keys)
  local out = {rev, NOW, #keys}
  local excess = redis.call('ZCARD', K_SNAPS) - MAX_SNAPSHOTS
  if excess > 0 then
    local old = redis.call('ZRANGE', K_SNAPS, 0, excess - 1)
    for i = 1, #old do
      redis.call('DEL', SNAP_PREFIX .. old[i])
      redis.call('HDEL', K_SNAPINFO, old[i])
      redis.call('ZREM', K_SNAPS, old[i])
      out[#out + 1] = old[i]
    end
  end
  return out
end

-- Timed snapshots (Spin has no timer): the first write once
-- SNAPSHOT_INTERVAL seconds have passed since the clock started also
-- takes a snapshot, after its change. The rule is tombola-core's
-- `snapshot_due`; the first write starts the clock.
local function timed_snapshot()
  if SNAPSHOT_INTERVAL == 0 then
    return
  end
  local since = redis.call('GET', K_SNAPCLOCK)
  if not since then
    redis.call('SET', K_SNAPCLOCK, NOW)
  elseif NOW - tonumber(since) >= SNAPSHOT_INTERVAL * 1000 then
    snapshot()
    count('snapshot:timed')
  end
end

-- Every write answers through this, {'OK', part...}, and takes a timed
-- snapshot when one is due (timed_snapshot): with an idempotency
-- key, the parts (as text) are recorded under it after the request's
-- fingerprint, in the same step as the write, for RECORD_TTL seconds; that
-- list is tombola-core's `Record`, its parts `Recorded::decode`'s.
local function answer(reply)
  timed_snapshot()
  for i = 2, #reply do
    reply[i] = tostring(reply[i])
  end
  if RECORD_KEY ~= '' then
    redis.call('RPUSH', RECORD_KEY, FINGERPRINT, unpack(reply, 2))
    redis.call('EXPIRE', RECORD_KEY, RECORD_TTL)
  end
  return reply
end

-- A request whose idempotency key has a record writes nothing, not even
-- due expiries: the record answers it, and the component tells a retry
-- (the same fingerprint) from another request under the same key.
if RECORD_KEY ~= '' then
  local record = redis.call('LRANGE', RECORD_KEY, 0, -1)
  if #record > 0 then
    count('replayed')
    table.insert(record, 1, 'RECORDED')
    return record
  end
end

purge()
