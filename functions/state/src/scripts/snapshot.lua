-- Captures every entry at the current revision into a list of
-- (key, value, metadata or '', ttl seconds or 0) and keeps at most
-- max_snapshots of them, dropping the oldest.
-- ARGV: 7 max_snapshots.
-- Reply: {'OK', revision, created_at, keys, dropped revision...} (recorded)
-- or, from the prelude, {'RECORDED', record...}.
local rev = revision()
local sk = SNAP_PREFIX .. rev
local info = redis.call('HGET', K_SNAPINFO, rev)
if info then
  -- Nothing changed since that snapshot: it already is this one.
  local created, count = string.match(info, '^(%d+) (%d+)$')
  return answer({'OK', rev, created, count})
end
local keys = redis.call('ZRANGE', K_INDEX, 0, -1)
for i = 1, #keys do
  local f = redis.call('HMGET', entry_key(keys[i]), 'v', 'm', 'x')
  redis.call('RPUSH', sk, keys[i], f[1], f[2] or '', f[3] or 0)
end
redis.call('ZADD', K_SNAPS, rev, rev)
redis.call('HSET', K_SNAPINFO, rev, NOW .. ' ' .. #keys)
local out = {'OK', rev, NOW, #keys}
local excess = redis.call('ZCARD', K_SNAPS) - tonumber(ARGV[7])
if excess > 0 then
  local old = redis.call('ZRANGE', K_SNAPS, 0, excess - 1)
  for i = 1, #old do
    redis.call('DEL', SNAP_PREFIX .. old[i])
    redis.call('HDEL', K_SNAPINFO, old[i])
    redis.call('ZREM', K_SNAPS, old[i])
    out[#out + 1] = old[i]
  end
end
return answer(out)
