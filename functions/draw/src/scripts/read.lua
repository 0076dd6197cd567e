-- Reads a pool's newest snapshot and tail, and optionally one more key of
-- the pool (a request record or an operation's state).
-- KEYS: base, log, snap[, extra].
-- Reply: {'NOPOOL'} | {'OK', extra|nil, base, start, snap|nil, lines...}
local base = redis.call('GET', KEYS[1])
if not base then
  return {'NOPOOL'}
end
local extra = false
if KEYS[4] then
  extra = redis.call('GET', KEYS[4]) or false
end
return tail({'OK', extra}, tonumber(base), KEYS[2], KEYS[3])
