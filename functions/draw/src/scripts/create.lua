-- Starts a pool's log with its CREATE entry, once.
-- KEYS: base, log.  ARGV: the CREATE line.
-- Reply: {'EXISTS'} or {'OK', seq}.
if redis.call('SETNX', KEYS[1], 0) == 0 then
  return {'EXISTS'}
end
return {'OK', redis.call('RPUSH', KEYS[2], ARGV[1])}
