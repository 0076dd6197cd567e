-- Reads one entry.
-- ARGV: 10 key.
-- Reply: {'NONE', revision} or
--        {'OK', revision, value, metadata or nil, created, modified, updated_at, source};
-- a compare-and-swap reads with its idempotency key, so its record, if
-- any, answers instead: {'RECORDED', record...} (prelude).
local f = redis.call('HMGET', entry_key(ARGV[10]), 'v', 'm', 'c', 'r', 't', 's')
if not f[1] then
  return {'NONE', revision()}
end
return {'OK', revision(), f[1], f[2], tonumber(f[3]), tonumber(f[4]), tonumber(f[5]), f[6]}
