-- Starts a pool's log with its CREATE entry, once; a rules-2 pool's COMMIT
-- entry follows it, and its server seed, first nonce and rotation interval
-- go to its fair hash, in the same step.
-- KEYS: base, log, fair.  ARGV: the CREATE line[, COMMIT line, seed, every].
-- Reply: {'EXISTS'} or {'OK', seq}.
if redis.call('SETNX', KEYS[1], 0) == 0 then
  return {'EXISTS'}
end
local seq = redis.call('RPUSH', KEYS[2], ARGV[1])
if ARGV[2] then
  seq = redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('HSET', KEYS[3], 'seed', ARGV[3], 'nonce', 0, 'every', ARGV[4])
end
return {'OK', seq}
