-- Registers a store, once; its index of packs on the counter starts
-- empty and trusted.
-- KEYS: the store's info.
-- ARGV: the API key's hash, name, now (ms).
-- Reply: {'OK'} or {'EXISTS'}
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'EXISTS'}
end
redis.call('HSET', KEYS[1], 'key', ARGV[1], 'name', ARGV[2], 'created_at', ARGV[3],
  'rotated_at', ARGV[3], 'version', 0, 'active_index', 1)
return {'OK'}
