-- Records the lottery's settlement of a pack the store pushed. It is a
-- field of its own, so no push ever overwrites it, nor it a push.
-- KEYS: info, packs, settled.
-- ARGV: game-number, LotterySettlement JSON.
-- Reply: {'OK', the pack's JSON}, {'NOPACK'} or {'NONE'}
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'NONE'}
end
local pack = redis.call('HGET', KEYS[2], ARGV[1])
if not pack then
  return {'NOPACK'}
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
return {'OK', pack}
