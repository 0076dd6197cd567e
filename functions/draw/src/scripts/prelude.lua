-- Shared by every Tombola script (prepended to each).
-- Replies are flat arrays: Spin's Redis `execute` flattens nested ones.

-- The sequence number of an encoded snapshot (tombola_core::pool::Snapshot,
-- either format version): the first varint of the
-- payload, after the 9-byte header. nil when there is none to read; the
-- component checks the whole snapshot (magic, checksum) when it decodes it.
local function snap_seq(snap)
  if not snap or #snap < 10 or string.sub(snap, 1, 4) ~= 'TMBS' then
    return nil
  end
  local seq, scale = 0, 1
  for i = 10, math.min(#snap, 19) do
    local b = string.byte(snap, i)
    seq = seq + (b % 128) * scale
    if b < 128 then
      return seq
    end
    scale = scale * 128
  end
  return nil
end

-- Appends to `out`: base, the list index the tail starts at, the snapshot
-- (false when there is none), the rules-2 server seed in force (false when
-- there is none) and the log lines from that index on.
local function tail(out, base, log_key, snap_key, fair_key)
  local snap = redis.call('GET', snap_key)
  local secret = fair_key and redis.call('HGET', fair_key, 'seed')
  local seq = snap_seq(snap)
  local start = 0
  if seq and seq >= base then
    start = seq - base
  end
  local lines = redis.call('LRANGE', log_key, start, -1)
  out[#out + 1] = base
  out[#out + 1] = start
  out[#out + 1] = snap or false
  out[#out + 1] = secret or false
  for i = 1, #lines do
    out[#out + 1] = lines[i]
  end
  return out
end
