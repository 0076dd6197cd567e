-- One store as the cloud holds it, at one instant.
-- KEYS: info, bins revision, bins, clients, packs, closes, settled, active.
-- ARGV: a client id (its last mutation id is read; '' for none), then the
--       parts wanted: any of 'b' bins, 'l' clients, 'p' packs, 'c' closes,
--       's' settlements, and 'n' to read only named packs and closes;
--       then, for a pull, when it is (ms) and the hash of the key it
--       presented: a pull with the store's key records its time as
--       last_pull_at in the same step ('' '' for none); then, with 'n',
--       a count and that many pack fields, and a count and that many
--       close dates.
-- With 'n' and the store's index of packs on the counter trusted
-- (active_index), the packs part is the named packs and every pack on the
-- counter, and the closes part the named closes; otherwise both are whole.
-- Reply: {'NONE'} or {'OK', key hash, name, created_at, rotated_at,
--         version, last_push_at, last_pull_at ('' when never), bins
--         revision, last mutation id, whether the index is trusted (1 or
--         0), how many packs and closes it holds, then per part in the
--         order b l p c s: count, field, value, ... (count 0 when not
--         asked for)}
local info = redis.call('HMGET', KEYS[1], 'key', 'name', 'created_at', 'rotated_at', 'version',
  'last_push_at', 'last_pull_at', 'active_index')
if not info[1] then
  return {'NONE'}
end
if ARGV[3] and ARGV[3] ~= '' and ARGV[4] == info[1] then
  redis.call('HSET', KEYS[1], 'last_pull_at', ARGV[3])
  info[7] = ARGV[3]
end
local out = {'OK', info[1], info[2], info[3], info[4], tonumber(info[5]), info[6] or '',
  info[7] or '', tonumber(redis.call('GET', KEYS[2]) or '0')}
local last = 0
if ARGV[1] ~= '' then
  last = tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or '0')
end
out[#out + 1] = last
local indexed = info[8] == '1'
out[#out + 1] = indexed and 1 or 0
out[#out + 1] = redis.call('HLEN', KEYS[5])
out[#out + 1] = redis.call('HLEN', KEYS[6])
local named = indexed and string.find(ARGV[2], 'n', 1, true)
local packs, closes = {}, {}
if named then
  local at = 5
  local n = tonumber(ARGV[at])
  for i = 1, n do
    packs[#packs + 1] = ARGV[at + i]
  end
  at = at + n + 1
  for i = 1, tonumber(ARGV[at]) do
    closes[#closes + 1] = ARGV[at + i]
  end
  local seen = {}
  for _, field in ipairs(packs) do
    seen[field] = true
  end
  for _, field in ipairs(redis.call('SMEMBERS', KEYS[8])) do
    if not seen[field] then
      packs[#packs + 1] = field
    end
  end
end
local parts = {{'b', KEYS[3]}, {'l', KEYS[4]}, {'p', KEYS[5], packs}, {'c', KEYS[6], closes},
  {'s', KEYS[7]}}
for _, part in ipairs(parts) do
  if not string.find(ARGV[2], part[1], 1, true) then
    out[#out + 1] = 0
  elseif named and part[3] then
    push_fields(out, part[2], part[3])
  else
    push_hash(out, part[2])
  end
end
return out
