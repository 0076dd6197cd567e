-- Records a request's computed outcome (only over its own pending record),
-- writes a snapshot if it is newer than the stored one, and saves an
-- operation's state, in one round trip.
-- KEYS: req, snap[, op].
-- ARGV: pending record, full record, snapshot|'', its sequence number|'',
--       op state|'', op TTL (s).
-- Reply: {'OK', recorded 0|1, snapshot written 0|1}
local recorded = 0
if ARGV[2] ~= '' and redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  recorded = 1
end
local written = 0
if ARGV[3] ~= '' then
  local new = tonumber(ARGV[4])
  local old = snap_seq(redis.call('GET', KEYS[2]))
  if not old or old < new then
    redis.call('SET', KEYS[2], ARGV[3])
    written = 1
  end
end
if KEYS[3] and ARGV[5] ~= '' then
  redis.call('SET', KEYS[3], ARGV[5], 'EX', tonumber(ARGV[6]))
end
return {'OK', recorded, written}
