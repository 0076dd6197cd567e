-- Every game with its revision, and the games' revision.
-- KEYS: games revision, games.
-- Reply: {'OK', revision, count, code, change, ...}
local out = {'OK', tonumber(redis.call('GET', KEYS[1]) or '0')}
push_hash(out, KEYS[2])
return out
