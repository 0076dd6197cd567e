-- Records a request and its completion, and refreshes its user's session,
-- each with its own TTL (tombola-core's `state::tracking` decides what).
-- KEYS: 1 the request's record, 2 its completion, 3 the session (absent
-- when the request names no user; all share one hash tag).
-- ARGV: 1 the request record, 2 the completion, 3 their TTL (s),
-- 4 the session, 5 its TTL (s).
-- Reply: {'OK'}.
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
if KEYS[3] then
  redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[5])
end
return {'OK'}
