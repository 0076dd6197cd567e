-- Rotates a rules-2 pool's server seed: appends the ROTATE line that
-- reveals the seed in force and commits the next, stores the next seed and
-- restarts the nonce, unless the seed in force is no longer the one the
-- line reveals (another rotation came first). An operator's rotation
-- names a request id: it rotates at most once, and a retry gets its record.
-- KEYS: base, log, fair[, req].
-- ARGV: seed in force, ROTATE line, next seed[, fingerprint, record TTL (s)].
-- Reply: {'NOPOOL'} | {'MOVED'} | {'OK', seq} | {'DUP', record}
local base = redis.call('GET', KEYS[1])
if not base then
  return {'NOPOOL'}
end
if KEYS[4] then
  local record = redis.call('GET', KEYS[4])
  if record then
    return {'DUP', record}
  end
end
if redis.call('HGET', KEYS[3], 'seed') ~= ARGV[1] then
  return {'MOVED'}
end
local seq = tonumber(base) + redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], 'seed', ARGV[3], 'nonce', 0)
if KEYS[4] then
  redis.call('SET', KEYS[4], seq .. ' ' .. ARGV[4], 'EX', tonumber(ARGV[5]))
end
return {'OK', seq}
