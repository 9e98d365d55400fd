-- pay: ARGV order_id, user, qty, expires_ms (all from the verified purchase token),
--      activity_id, channel, traceparent ('' or absent = none)
-- → {'paid'} (also when already paid) | {'not_found'} | {'cancelled'} | {'expired'}
-- A payment at or after the deadline expires the order on the spot, so a late payment can
-- never take units that were (or are about to be) returned and sold again.
local order_id, user, qty, expires = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local activity_id, channel = ARGV[5], ARGV[6]
trace_context = ARGV[7] or ''

local o = load_order(order_id)
if not o or o.user ~= user or o.qty ~= qty or o.expires ~= expires then
  return {'not_found'}
end
if o.status == 'paid' then return {'paid'} end
if o.status == 'cancelled' then
  if o.reason == 'expired' then return {'expired'} end
  return {'cancelled'}
end
local now = now_ms()
if now >= o.expires then
  release(o, 'expired', now, activity_id, channel)
  return {'expired'}
end
redis.call('ZREM', K_DEADLINES, order_id)
o.status, o.changed = 'paid', now
store_order(o)
emit(o, activity_id)
return {'paid'}
