-- Deletes one entry.
-- ARGV: 7 key, 8 source.
-- Reply: {'OK', key, revision} (recorded), {'NONE', revision} or, from the
-- prelude, {'RECORDED', record...}.
local rev = remove(ARGV[7], ARGV[8])
if not rev then
  return {'NONE', revision()}
end
return answer({'OK', ARGV[7], rev})
