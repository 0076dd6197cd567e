-- Reads the whole catalog in one step: every pool id in creation order,
-- each with its listing (false if the hash lacks it, which no script
-- writes).
-- KEYS: catalog pools, catalog listings.
-- Reply: {'OK', (id, listing|false)*}
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {'OK'}
-- HMGET in batches: unpack's stack is bounded.
for i = 1, #ids, 1000 do
  local last = math.min(i + 999, #ids)
  local listings = redis.call('HMGET', KEYS[2], unpack(ids, i, last))
  for j = i, last do
    out[#out + 1] = ids[j]
    out[#out + 1] = listings[j - i + 1]
  end
end
return out
