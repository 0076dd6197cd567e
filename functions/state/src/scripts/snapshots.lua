-- Lists the kept snapshots, oldest first.
-- Reply: {'OK', revision, (snapshot revision, '<created_at> <keys>')...}.
local revs = redis.call('ZRANGE', K_SNAPS, 0, -1)
local out = {'OK', revision()}
for i = 1, #revs do
  out[#out + 1] = tonumber(revs[i])
  out[#out + 1] = redis.call('HGET', K_SNAPINFO, revs[i]) or ''
end
return out
