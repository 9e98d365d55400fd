-- ack_relayed: the relay acknowledges entries it has produced to Kafka, and trims them.
-- KEYS 1 relay lock, 2 outbox ; ARGV lock value, group, trim MINID, entry ids...
-- → the outbox length after trimming, or -1 when the caller no longer holds the lock (fencing:
-- a relay that lost its lease must not ack or trim what the new owner is working on).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
redis.call('XACK', KEYS[2], ARGV[2], unpack(ARGV, 4))
redis.call('XTRIM', KEYS[2], 'MINID', ARGV[3])
return redis.call('XLEN', KEYS[2])
