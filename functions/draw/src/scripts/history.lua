-- Reads everything retained of a pool: each archived segment with the
-- snapshot it starts from, then the live snapshot and the whole log.
-- KEYS: base, log, snap, fair, then per segment: its list, its start snapshot.
-- Reply: {'NOPOOL'}
--      | {'OK', segments, (first, count, snap|nil, lines...)*,
--         base, 0, snap|nil, seed|nil, lines...}
-- where `first` is the segment's first sequence number, passed in ARGV.
local base = redis.call('GET', KEYS[1])
if not base then
  return {'NOPOOL'}
end
local segments = (#KEYS - 4) / 2
local out = {'OK', segments}
for s = 1, segments do
  local lines = redis.call('LRANGE', KEYS[3 + 2 * s], 0, -1)
  out[#out + 1] = tonumber(ARGV[s])
  out[#out + 1] = #lines
  out[#out + 1] = redis.call('GET', KEYS[4 + 2 * s]) or false
  for i = 1, #lines do
    out[#out + 1] = lines[i]
  end
end
local lines = redis.call('LRANGE', KEYS[2], 0, -1)
out[#out + 1] = tonumber(base)
out[#out + 1] = 0
out[#out + 1] = redis.call('GET', KEYS[3]) or false
out[#out + 1] = redis.call('HGET', KEYS[4], 'seed') or false
for i = 1, #lines do
  out[#out + 1] = lines[i]
end
return out
