-- cancel: ARGV order_id, user, activity_id, channel, traceparent ('' or absent = none)
-- → {'cancelled'} (also when already cancelled or expired) | {'not_found'} | {'already_paid'}
local order_id, user, activity_id, channel = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
trace_context = ARGV[5] or ''

local o = load_order(order_id)
if not o or o.user ~= user then return {'not_found'} end
if o.status == 'paid' then return {'already_paid'} end
if o.status == 'cancelled' then return {'cancelled'} end
release(o, 'cancelled', now_ms(), activity_id, channel)
return {'cancelled'}
