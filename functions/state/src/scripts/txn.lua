-- Runs one branch of a transaction, whose compares the component decided
-- on what it read, if every compared key's modify revision is still the
-- one it read. Every change the branch makes carries one revision, and
-- the feed holds them under it in order (prelude's `change` and `commit`).
-- ARGV: 10 source, 11 the number n of compared keys, then n pairs (key,
--       modify revision read, 0 for absent), then 1 or 0 (which branch:
--       success or failure), then its operations, in order, each
--       'put' key value metadata-or-'' ttl-or-0, 'delete' key, or 'get' key.
-- Reply: {'OK', succeeded, revision, result...} (recorded; the results as
-- tombola-core's `TxnAnswer::decode` reads them), {'CONFLICT', key} when a
-- compared key moved, or, from the prelude, {'RECORDED', record...}.
local source, i = ARGV[10], 12
for _ = 1, tonumber(ARGV[11]) do
  local current = tonumber(redis.call('HGET', entry_key(ARGV[i]), 'r') or '0')
  if current ~= tonumber(ARGV[i + 1]) then
    count('moved:txn')
    return {'CONFLICT', ARGV[i]}
  end
  i = i + 2
end
local out = {'OK', ARGV[i], 0}
local group = {events = {}}
i = i + 1
while i <= #ARGV do
  local op, key = ARGV[i], ARGV[i + 1]
  if op == 'put' then
    local rev, created = put(key, ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4]), source, group)
    for _, part in ipairs({'put', key, rev, created}) do
      out[#out + 1] = part
    end
    i = i + 5
  elseif op == 'delete' then
    out[#out + 1] = 'delete'
    out[#out + 1] = key
    out[#out + 1] = remove(key, source, group) and 1 or 0
    i = i + 2
  else
    local f = redis.call('HMGET', entry_key(key), 'v', 'r', 'c')
    out[#out + 1] = 'get'
    out[#out + 1] = key
    if f[1] then
      for _, part in ipairs({1, f[1], f[2], f[3]}) do
        out[#out + 1] = part
      end
    else
      out[#out + 1] = 0
    end
    i = i + 2
  end
end
commit(group)
count(out[2] == '1' and 'txn:success' or 'txn:failure')
out[3] = group.rev or revision()
return answer(out)
