-- Rotates a rules-2 pool's server seed: appends the ROTATE line that
-- reveals the seed in force and commits the next, stores the next seed and
-- restarts the nonce, unless the seed in force is no longer the one the
-- line reveals (another rotation came first).
-- KEYS: base, log, fair.  ARGV: seed in force, ROTATE line, next seed.
-- Reply: {'NOPOOL'} | {'MOVED'} | {'OK', seq}
local base = redis.call('GET', KEYS[1])
if not base then
  return {'NOPOOL'}
end
if redis.call('HGET', KEYS[3], 'seed') ~= ARGV[1] then
  return {'MOVED'}
end
local seq = tonumber(base) + redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('HSET', KEYS[3], 'seed', ARGV[3], 'nonce', 0)
return {'OK', seq}
