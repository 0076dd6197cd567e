-- Appends one entry for a request id, at most once, and returns what the
-- caller needs to compute its outcome: the newest snapshot and the tail.
-- KEYS: base, log, snap, req, fair.  ARGV: line, fingerprint, record TTL (s).
-- Reply: {'NOPOOL'}
--      | {'OK', seq, base, start, snap|nil, seed|nil, lines...}
--      | {'DUP', record, base, start, snap|nil, seed|nil, lines...}
local base = redis.call('GET', KEYS[1])
if not base then
  return {'NOPOOL'}
end
base = tonumber(base)
local record = redis.call('GET', KEYS[4])
if record then
  return tail({'DUP', record}, base, KEYS[2], KEYS[3], KEYS[5])
end
local seq = base + redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('SET', KEYS[4], seq .. ' ' .. ARGV[2], 'EX', tonumber(ARGV[3]))
return tail({'OK', seq}, base, KEYS[2], KEYS[3], KEYS[5])
