-- The stores' directory: a sorted set of ids, every score 0, so its order
-- is the ids' byte order and a page is one range read. A directory an
-- earlier build kept as a plain set is turned into one first.
-- KEYS: the directory.
-- ARGV: 'add' and an id; or 'page', the id to page on from ('' for the
--       first page) and how many ids at most.
-- Reply: {'OK'} for an add; {'OK', id, ...} for a page, in id order.
if redis.call('TYPE', KEYS[1]).ok == 'set' then
  local ids = redis.call('SMEMBERS', KEYS[1])
  redis.call('DEL', KEYS[1])
  for first = 1, #ids, 1000 do
    local args = {}
    for i = first, math.min(first + 999, #ids) do
      args[#args + 1] = 0
      args[#args + 1] = ids[i]
    end
    redis.call('ZADD', KEYS[1], unpack(args))
  end
end
if ARGV[1] == 'add' then
  redis.call('ZADD', KEYS[1], 0, ARGV[2])
  return {'OK'}
end
local from = '-'
if ARGV[2] ~= '' then
  from = '(' .. ARGV[2]
end
local out = {'OK'}
for _, id in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], from, '+', 'LIMIT', 0, tonumber(ARGV[3]))) do
  out[#out + 1] = id
end
return out
