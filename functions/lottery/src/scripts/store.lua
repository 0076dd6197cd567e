-- One store as the cloud holds it, at one instant.
-- KEYS: info, bins revision, bins, clients, packs, closes, settled.
-- ARGV: a client id (its last mutation id is read; '' for none), then the
--       parts wanted: any of 'b' bins, 'l' clients, 'p' packs, 'c' closes,
--       's' settlements; then, for a pull, when it is (ms) and the hash
--       of the key it presented: a pull with the store's key records its
--       time as last_pull_at in the same step ('' '' for none).
-- Reply: {'NONE'} or {'OK', key hash, name, created_at, rotated_at,
--         version, last_push_at, last_pull_at ('' when never), bins
--         revision, last mutation id, then per part in the
--         order b l p c s: count, field, value, ... (count 0 when not
--         asked for)}
local info = redis.call('HMGET', KEYS[1], 'key', 'name', 'created_at', 'rotated_at', 'version',
  'last_push_at', 'last_pull_at')
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
local parts = {{'b', KEYS[3]}, {'l', KEYS[4]}, {'p', KEYS[5]}, {'c', KEYS[6]}, {'s', KEYS[7]}}
for _, part in ipairs(parts) do
  if string.find(ARGV[2], part[1], 1, true) then
    push_hash(out, part[2])
  else
    out[#out + 1] = 0
  end
end
return out
