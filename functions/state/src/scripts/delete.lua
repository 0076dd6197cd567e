-- Deletes one entry.
-- ARGV: 10 key, 11 source.
-- Reply: {'OK', key, revision} (recorded), {'NONE', revision} or, from the
-- prelude, {'RECORDED', record...}.
local rev = remove(ARGV[10], ARGV[11])
if not rev then
  return {'NONE', revision()}
end
return answer({'OK', ARGV[10], rev})
