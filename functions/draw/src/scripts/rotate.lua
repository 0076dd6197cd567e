-- Compacts a pool: moves the first `count` log entries into a new archive
-- segment (with the snapshot it starts from), advances base, stores the new
-- snapshot, and drops the oldest segment when the archive is full.
-- KEYS: base, log, snap, index, segment, segment snap[, oldest, oldest snap].
-- ARGV: expected base, count, new snapshot, segment start snapshot|'', first seq.
-- Reply: {'MOVED'} when another compaction got there first, else {'OK'}.
if tonumber(redis.call('GET', KEYS[1])) ~= tonumber(ARGV[1]) then
  return {'MOVED'}
end
local count = tonumber(ARGV[2])
local lines = redis.call('LRANGE', KEYS[2], 0, count - 1)
if #lines ~= count then
  return {'MOVED'}
end
for i = 1, #lines, 1000 do
  redis.call('RPUSH', KEYS[5], unpack(lines, i, math.min(i + 999, #lines)))
end
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[6], ARGV[4])
end
redis.call('LTRIM', KEYS[2], count, -1)
redis.call('INCRBY', KEYS[1], count)
redis.call('SET', KEYS[3], ARGV[3])
redis.call('RPUSH', KEYS[4], ARGV[5])
if KEYS[7] then
  redis.call('DEL', KEYS[7], KEYS[8])
  redis.call('LPOP', KEYS[4])
end
return {'OK'}
