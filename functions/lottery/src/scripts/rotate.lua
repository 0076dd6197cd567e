-- Replaces a store's API key hash: the old key stops working at once.
-- KEYS: the store's info.
-- ARGV: the new key's hash, now (ms).
-- Reply: {'OK'} or {'NONE'}
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'NONE'}
end
redis.call('HSET', KEYS[1], 'key', ARGV[1], 'rotated_at', ARGV[2])
return {'OK'}
