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

-- Appends the fields of `fields` that a hash holds, each with its value,
-- after their count; HMGET in slices, within Lua's limit on unpack.
local function push_fields(out, key, fields)
  local at = #out + 1
  out[at] = 0
  for first = 1, #fields, 1000 do
    local slice = {unpack(fields, first, math.min(first + 999, #fields))}
    local values = redis.call('HMGET', key, unpack(slice))
    for i = 1, #slice do
      if values[i] then
        out[#out + 1] = slice[i]
        out[#out + 1] = values[i]
        out[at] = out[at] + 1
      end
    end
  end
end
