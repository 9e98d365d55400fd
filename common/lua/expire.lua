-- expire: ARGV order_id, activity_id, channel, traceparent ('' or absent = none)
--   (the deadline reaper; safe on every instance)
-- → {'expired'} | {'not_due'} | {'settled'} (paid, cancelled or unknown: dropped from the set)
local order_id, activity_id, channel = ARGV[1], ARGV[2], ARGV[3]
trace_context = ARGV[4] or ''

local o = load_order(order_id)
if not o or o.status ~= 'reserved' then
  redis.call('ZREM', K_DEADLINES, order_id)
  return {'settled'}
end
local now = now_ms()
if now < o.expires then return {'not_due'} end
release(o, 'expired', now, activity_id, channel)
return {'expired'}
