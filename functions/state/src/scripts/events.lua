-- Reads the change feed after a revision. Event r sits at list index
-- r - compacted - 1, as every revision is exactly one event; events up to
-- `compacted` were dropped, so none is read when after < compacted (the
-- component answers that with 410), nor when after >= the revision.
-- ARGV: 10 after, 11 limit.
-- Reply: {'OK', revision, compacted, event JSON...}.
local after, limit = tonumber(ARGV[10]), tonumber(ARGV[11])
local compacted = tonumber(redis.call('GET', K_COMPACTED) or '0')
local current = revision()
local out = {'OK', current, compacted}
-- Nothing lies past the current revision; answering here also keeps an
-- `after` beyond Redis's integers (it may be any u64) out of LRANGE.
if after < compacted or after >= current then
  return out
end
local start = after - compacted
local events = redis.call('LRANGE', K_EVENTS, start, start + limit - 1)
for i = 1, #events do
  out[#out + 1] = events[i]
end
return out
