-- Lists keys by prefix from the index, in byte order, one page at a time.
-- ARGV: 10 prefix, 11 cursor (the last key already seen) or '', 12 limit.
-- Reply: {'OK', revision, total with the prefix, more (0 or 1), key...}.
local prefix, cursor, limit = ARGV[10], ARGV[11], tonumber(ARGV[12])
local min, max = '-', '+'
if prefix ~= '' then
  -- Keys are ASCII, so every key with the prefix sorts before prefix..0xff.
  min, max = '[' .. prefix, '[' .. prefix .. '\255'
end
local total = redis.call('ZLEXCOUNT', K_INDEX, min, max)
if cursor ~= '' then
  min = '(' .. cursor
end
local keys = redis.call('ZRANGEBYLEX', K_INDEX, min, max, 'LIMIT', 0, limit + 1)
local more = 0
if #keys > limit then
  more = 1
  keys[#keys] = nil
end
local out = {'OK', revision(), total, more}
for i = 1, #keys do
  out[#out + 1] = keys[i]
end
return out
