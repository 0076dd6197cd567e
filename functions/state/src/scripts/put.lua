-- Writes one entry, unconditionally or only if its modify revision is
-- still the one the caller read (0: the key must not exist).
-- ARGV: 4 key, 5 value JSON, 6 metadata JSON or '', 7 ttl seconds or 0,
--       8 source, 9 expected modify revision or ''.
-- Reply: {'OK', revision, created} or {'CONFLICT', current modify revision}.
local key = ARGV[4]
if ARGV[9] ~= '' then
  local current = tonumber(redis.call('HGET', entry_key(key), 'r') or '0')
  if current ~= tonumber(ARGV[9]) then
    return {'CONFLICT', current}
  end
end
local rev, created = put(key, ARGV[5], ARGV[6], tonumber(ARGV[7]), ARGV[8])
return {'OK', rev, tonumber(created)}
