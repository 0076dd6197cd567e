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
--   7 events     list    the change feed: event JSON, one per revision
--   8 compacted  string  the last revision dropped from the feed
--   9 snaps      zset    revision -> revision of each kept snapshot
--  10 snapinfo   hash    revision -> '<created_at> <keys>'
-- ARGV: 1 entry key prefix, 2 events retained, 3 snapshot key prefix,
-- then the script's own arguments.
local K_REV, K_INDEX, K_SIZES, K_TOTAL, K_META = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_TTL, K_EVENTS, K_COMPACTED, K_SNAPS, K_SNAPINFO = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local ENTRY_PREFIX, RETENTION, SNAP_PREFIX = ARGV[1], tonumber(ARGV[2]), ARGV[3]

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
-- RETENTION events. Values are stored JSON text, spliced in as they are.
local function emit(key, kind, old, new, source)
  local rev = redis.call('INCR', K_REV)
  local event = '{"revision":' .. rev .. ',"key":' .. cjson.encode(key)
    .. ',"type":"' .. kind .. '","old_value":' .. (old or 'null')
    .. ',"new_value":' .. (new or 'null') .. ',"timestamp":' .. NOW
    .. ',"source":' .. cjson.encode(source) .. '}'
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

purge()
