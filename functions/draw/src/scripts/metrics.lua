-- For the metrics: a pool's log length, and one SCAN step over its
-- request records (the component follows the cursor, so no call blocks
-- Redis for long).
-- KEYS: 1 the pool's log. ARGV: 1 cursor, 2 the records' MATCH pattern,
-- 3 COUNT.
-- Reply: {'OK', log length, next cursor, records matched in this step}.
local step = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
return {'OK', redis.call('LLEN', KEYS[1]), step[1], #step[2]}
