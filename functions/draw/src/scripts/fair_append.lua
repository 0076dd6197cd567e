-- Appends a draw for a request id, at most once: on a rules-2 pool (one
-- with a fair hash) the DRAW/2 line with the next nonce, taken from the
-- hash in this same step so concurrent draws get consecutive nonces in log
-- order; on any other pool the DRAW/1 line.
-- KEYS: base, log, snap, req, fair.
-- ARGV: DRAW/1 line, DRAW/2 head, DRAW/2 tail, fingerprint, record TTL (s),
--       '1' when the client chose a client seed (refused on other rules).
-- Reply: {'NOPOOL'} | {'NOTFAIR'} | {'ROTATE'} (the interval is reached)
--      | {'OK', seq, base, start, snap|nil, seed|nil, lines...}
--      | {'DUP', record, base, start, snap|nil, seed|nil, lines...}
local base = redis.call('GET', KEYS[1])
if not base then
  return {'NOPOOL'}
end
base = tonumber(base)
local record = redis.call('GET', KEYS[4])
if record then
  return tail({'DUP', record}, base, KEYS[2], KEYS[3], KEYS[5])
end
local line = ARGV[1]
local nonce = redis.call('HGET', KEYS[5], 'nonce')
if nonce then
  nonce = tonumber(nonce)
  local every = tonumber(redis.call('HGET', KEYS[5], 'every') or '0')
  if every > 0 and nonce >= every then
    return {'ROTATE'}
  end
  redis.call('HSET', KEYS[5], 'nonce', nonce + 1)
  line = ARGV[2] .. string.format('%d', nonce) .. ARGV[3]
elseif ARGV[6] ~= '' then
  return {'NOTFAIR'}
end
local seq = base + redis.call('RPUSH', KEYS[2], line)
redis.call('SET', KEYS[4], seq .. ' ' .. ARGV[4], 'EX', tonumber(ARGV[5]))
return tail({'OK', seq}, base, KEYS[2], KEYS[3], KEYS[5])
