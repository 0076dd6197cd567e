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
-- ARGV: 1 entry key prefix, 2 events retained, 3 snapshot key prefix,
-- 4 the record key of the request's Idempotency-Key or '' (none; in the
-- same slot), 5 the request's fingerprint, 6 seconds to keep its record,
-- then the script's own arguments (from 7).
local K_REV, K_INDEX, K_SIZES, K_TOTAL, K_META = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_TTL, K_EVENTS, K_COMPACTED, K_SNAPS, K_SNAPINFO = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local ENTRY_PREFIX, RETENTION, SNAP_PREFIX = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local RECORD_KEY, FINGERPRINT, RECORD_TTL = ARGV[4], ARGV[5], tonumber(ARGV[6])

-- One clock for every instance of the component: Redis's.
local NOW
do
  local t = redis.call('TIME')
  NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function entry_key(key)
  return ENTRY_PREFIX .. key
end

local function revision()
  return tonumber(redis.call('GET', K_REV) or '0')
end

-- Bumps the revision and appends the change to the feed, trimming it to
-- RETENTION events. The event is stored in parts, as tombola-core's
-- `Event::encode` lays them out (the feed builds the JSON from them): the
-- tag 'e1', the revision, the kind ('put', 'delete' or 'expire'), the
-- time, the key, the source and the old value's length, a line each, then
-- the old and the new value's stored JSON text back to back ('' for none).
local function emit(key, kind, old, new, source)
  local rev = redis.call('INCR', K_REV)
  old, new = old or '', new or ''
  local event = table.concat({'e1', rev, kind, NOW, key, source, #old, old .. new}, '\n')
  local len = redis.call('RPUSH', K_EVENTS, event)
  if len > RETENTION then
    redis.call('LTRIM', K_EVENTS, len - RETENTION, -1)
    redis.call('INCRBY', K_COMPACTED, len - RETENTION)
  end
  return rev
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

-- Removes the keys whose ttl ran out, one 'expire' event each. Redis may
-- have dropped the entry already (then the event has no old value).
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
-- ttl in seconds (0 for none). Returns the new revision and the revision
-- that created the key.
local function put(key, value, meta, ttl, source)
  local ek = entry_key(key)
  local old = redis.call('HGET', ek, 'v')
  local created = redis.call('HGET', ek, 'c')
  local rev = emit(key, 'put', old, value, source)
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
    redis.call('PEXPIREAT', ek, at)
    redis.call('ZADD', K_TTL, at, key)
  else
    redis.call('ZREM', K_TTL, key)
  end
  return rev, created
end

-- Deletes a key; returns the new revision, or nil if there was no key.
local function remove(key, source)
  local ek = entry_key(key)
  local old = redis.call('HGET', ek, 'v')
  if not old then
    return nil
  end
  redis.call('DEL', ek)
  forget(key)
  return emit(key, 'delete', old, nil, source)
end

-- Every write answers through this, {'OK', part...}: with an idempotency
-- key, the parts (as text) are recorded under it after the request's
-- fingerprint, in the same step as the write, for RECORD_TTL seconds; that
-- list is tombola-core's `Record`, its parts `Recorded::decode`'s.
local function answer(reply)
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
    table.insert(record, 1, 'RECORDED')
    return record
  end
end

purge()
