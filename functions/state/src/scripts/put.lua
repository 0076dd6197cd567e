-- Writes one entry, unconditionally or only if its modify revision is
-- still the one the caller read (0: the key must not exist).
-- ARGV: 7 key, 8 value JSON, 9 metadata JSON or '', 10 ttl seconds or 0,
--       11 source, 12 expected modify revision or ''.
-- Reply: {'OK', key, revision, created} (recorded), {'CONFLICT', current
-- modify revision} or, from the prelude, {'RECORDED', record...}.
local key = ARGV[7]
if ARGV[12] ~= '' then
  local current = tonumber(redis.call('HGET', entry_key(key), 'r') or '0')
  if current ~= tonumber(ARGV[12]) then
    return {'CONFLICT', current}
  end
end
local rev, created = put(key, ARGV[8], ARGV[9], tonumber(ARGV[10]), ARGV[11])
return answer({'OK', key, rev, created})
