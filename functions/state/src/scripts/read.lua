-- Reads the value and the modify revision of several keys, for a
-- transaction's compares; a transaction reads with its idempotency key,
-- so its record, if any, answers instead: {'RECORDED', record...}
-- (prelude).
-- ARGV: 10 onwards, the keys.
-- Reply: {'OK', revision, then per key 0, or 1 value modified}.
local out = {'OK', revision()}
for i = 10, #ARGV do
  local f = redis.call('HMGET', entry_key(ARGV[i]), 'v', 'r')
  if f[1] then
    out[#out + 1] = 1
    out[#out + 1] = f[1]
    out[#out + 1] = tonumber(f[2])
  else
    out[#out + 1] = 0
  end
end
return out
