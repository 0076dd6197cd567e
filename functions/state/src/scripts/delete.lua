-- Deletes one entry.
-- ARGV: 4 key, 5 source.
-- Reply: {'OK', revision} or {'NONE', revision}.
local rev = remove(ARGV[4], ARGV[5])
if not rev then
  return {'NONE', revision()}
end
return {'OK', rev}
