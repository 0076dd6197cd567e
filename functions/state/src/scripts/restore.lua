-- Makes the live entries what a snapshot holds, in one step: keys the
-- snapshot lacks are deleted, keys whose value or metadata differ are
-- written (their ttl, if any, counting from now); one event per change.
-- ARGV: 10 snapshot revision, 11 source.
-- Reply: {'OK', snapshot revision, revision, changed keys} (recorded),
-- {'NONE', revision} or, from the prelude, {'RECORDED', record...}.
local snap = ARGV[10]
if not redis.call('ZSCORE', K_SNAPS, snap) then
  return {'NONE', revision()}
end
local items = redis.call('LRANGE', SNAP_PREFIX .. snap, 0, -1)
local wanted = {}
for i = 1, #items, 4 do
  wanted[items[i]] = true
end
local changed = 0
local live = redis.call('ZRANGE', K_INDEX, 0, -1)
for i = 1, #live do
  if not wanted[live[i]] then
    remove(live[i], ARGV[11])
    changed = changed + 1
  end
end
for i = 1, #items, 4 do
  local key, value, meta, ttl = items[i], items[i + 1], items[i + 2], tonumber(items[i + 3])
  local f = redis.call('HMGET', entry_key(key), 'v', 'm')
  if f[1] ~= value or (f[2] or '') ~= meta then
    put(key, value, meta, ttl, ARGV[11])
    changed = changed + 1
  end
end
return answer({'OK', snap, revision(), changed})
