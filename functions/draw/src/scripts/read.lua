-- Reads a pool's newest snapshot and tail.
-- KEYS: base, log, snap, fair.
-- Reply: {'NOPOOL'} | {'OK', base, start, snap|nil, seed|nil, lines...}
local base = redis.call('GET', KEYS[1])
if not base then
  return {'NOPOOL'}
end
return tail({'OK'}, tonumber(base), KEYS[2], KEYS[3], KEYS[4])
