-- Reads what the metrics report, in one step.
-- Reply: {'OK', revision, keys, bytes, keys with metadata, feed length,
-- compacted, snapshots, the newest snapshot's '<created_at> <keys>' or '',
-- now (ms), then the counters as name, count pairs}.
local newest = redis.call('ZRANGE', K_SNAPS, -1, -1)[1]
local out = {'OK', revision(), redis.call('ZCARD', K_INDEX),
  tonumber(redis.call('GET', K_TOTAL) or '0'), redis.call('SCARD', K_META),
  redis.call('LLEN', K_EVENTS), tonumber(redis.call('GET', K_COMPACTED) or '0'),
  redis.call('ZCARD', K_SNAPS), newest and redis.call('HGET', K_SNAPINFO, newest) or '', NOW}
local counters = redis.call('HGETALL', K_COUNTERS)
for i = 1, #counters, 2 do
  out[#out + 1] = counters[i]
  out[#out + 1] = tonumber(counters[i + 1])
end
return out
