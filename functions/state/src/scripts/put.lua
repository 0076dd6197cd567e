-- Writes one entry, unconditionally or only if its modify revision is
-- still the one the caller read (0: the key must not exist).
-- ARGV: 10 key, 11 value JSON, 12 metadata JSON or '', 13 ttl seconds or 0,
--       14 source, 15 expected modify revision or ''.
-- Reply: {'OK', key, revision, created} (recorded), {'CONFLICT', current
-- modify revision} or, from the prelude, {'RECORDED', record...}.
local key = ARGV[10]
if ARGV[15] ~= '' then
  local current = tonumber(redis.call('HGET', entry_key(key), 'r') or '0')
  if current ~= tonumber(ARGV[15]) then
    count('moved:cas')
    return {'CONFLICT', current}
  end
end
local rev, created = put(key, ARGV[11], ARGV[12], tonumber(ARGV[13]), ARGV[14])
return answer({'OK', key, rev, created})
