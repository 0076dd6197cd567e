-- Shared by every lottery script (prepended to each).
-- Replies are flat arrays: Spin's Redis `execute` flattens nested ones.
-- Records are the core's JSON, written as the component sends them; a
-- record stamped with a revision is stored as the core's Change:
-- {"revision":N,"record":...}.

local function change(revision, record)
  return '{"revision":' .. revision .. ',"record":' .. record .. '}'
end

-- Appends every field and value of a hash to `out`, after their count.
local function push_hash(out, key)
  local all = redis.call('HGETALL', key)
  out[#out + 1] = #all / 2
  for i = 1, #all do
    out[#out + 1] = all[i]
  end
end
