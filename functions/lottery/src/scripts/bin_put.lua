-- Writes an operator's change to one bin, stamped with the next bins
-- revision, if the store did not change since it was read.
-- KEYS: info, bins revision, bins.
-- ARGV: the store's version when read, bin number, CloudBin JSON.
-- Reply: {'OK', revision}, {'STALE'} or {'NONE'}
local version = redis.call('HGET', KEYS[1], 'version')
if not version then
  return {'NONE'}
end
if version ~= ARGV[1] then
  return {'STALE'}
end
local revision = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[3], ARGV[2], change(revision, ARGV[3]))
redis.call('HINCRBY', KEYS[1], 'version', 1)
return {'OK', revision}
