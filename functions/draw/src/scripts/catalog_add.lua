-- Lists a pool in the catalog, once: its listing and its place in the
-- order are written together, and an existing listing is kept as it is.
-- KEYS: catalog pools, catalog listings.
-- ARGV: pool id, creation time (ms), listing.
-- Reply: {'OK', added 0|1}
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[3]) == 0 then
  return {'OK', 0}
end
redis.call('ZADD', KEYS[1], 'NX', ARGV[2], ARGV[1])
return {'OK', 1}
