-- Persists a decided push, or nothing if the store changed since it was
-- read: the records it writes and the client's last mutation id, in one
-- step.
-- KEYS: info, bins revision, bins, clients, packs, closes, settled,
--       active (the store's keys in their order; settled is not written).
-- ARGV: client id, the store's version when read, the new last mutation
--       id, now (ms, recorded as last_push_at), then counts and pairs:
--       bins (number, CloudBin JSON), packs (game-number, Pack JSON),
--       closes (date, PreparedClose JSON), the written packs' place on
--       the counter (game-number, 1 on it or 0 off it); then '' or, for a
--       store whose index of the counter is not trusted yet (registered
--       before it), 'all', a count and the game-number of every pack on
--       the counter after the push, which replace the index and make it
--       trusted.
-- Reply: {'OK', bins revision}, {'STALE'} or {'NONE'}
local version = redis.call('HGET', KEYS[1], 'version')
if not version then
  return {'NONE'}
end
if version ~= ARGV[2] then
  return {'STALE'}
end
local revision = tonumber(redis.call('GET', KEYS[2]) or '0')
local at = 5
local bins = tonumber(ARGV[at])
if bins > 0 then
  revision = redis.call('INCR', KEYS[2])
end
for i = 1, bins do
  redis.call('HSET', KEYS[3], ARGV[at + 2 * i - 1], change(revision, ARGV[at + 2 * i]))
end
at = at + 2 * bins + 1
for _, key in ipairs({KEYS[5], KEYS[6]}) do
  local n = tonumber(ARGV[at])
  for i = 1, n do
    redis.call('HSET', key, ARGV[at + 2 * i - 1], ARGV[at + 2 * i])
  end
  at = at + 2 * n + 1
end
local n = tonumber(ARGV[at])
for i = 1, n do
  if ARGV[at + 2 * i] == '1' then
    redis.call('SADD', KEYS[8], ARGV[at + 2 * i - 1])
  else
    redis.call('SREM', KEYS[8], ARGV[at + 2 * i - 1])
  end
end
at = at + 2 * n + 1
if ARGV[at] == 'all' then
  redis.call('DEL', KEYS[8])
  local count = tonumber(ARGV[at + 1])
  for i = 1, count do
    redis.call('SADD', KEYS[8], ARGV[at + 1 + i])
  end
  redis.call('HSET', KEYS[1], 'active_index', 1)
end
redis.call('HSET', KEYS[4], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[1], 'last_push_at', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'version', 1)
return {'OK', revision}
