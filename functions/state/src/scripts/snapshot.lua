-- Takes a snapshot now (prelude's `snapshot`).
-- Reply: {'OK', revision, created_at, keys, dropped revision...} (recorded)
-- or, from the prelude, {'RECORDED', record...}.
local taken = snapshot()
count('snapshot:request')
return answer({'OK', unpack(taken)})
