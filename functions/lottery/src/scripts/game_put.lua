-- Writes a game, stamped with the next games revision, if the game is
-- still at the revision it was read at.
-- KEYS: games revision, games.
-- ARGV: code, the game's JSON, the revision it was read at ('0': absent;
--       '': any).
-- Reply: {'OK', revision, existed 0|1} or {'STALE'}
local held = redis.call('HGET', KEYS[2], ARGV[1])
if ARGV[3] ~= '' then
  local at = '0'
  if held then
    at = tostring(cjson.decode(held)['revision'])
  end
  if at ~= ARGV[3] then
    return {'STALE'}
  end
end
local revision = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], change(revision, ARGV[2]))
local existed = 0
if held then
  existed = 1
end
return {'OK', revision, existed}
