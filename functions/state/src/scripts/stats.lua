-- Counts live keys, their bytes and the keys with metadata.
-- Reply: {'OK', revision, keys, bytes, keys with metadata}.
return {'OK', revision(), redis.call('ZCARD', K_INDEX),
  tonumber(redis.call('GET', K_TOTAL) or '0'), redis.call('SCARD', K_META)}
