-- reserve: ARGV order_id, user, qty, idem_field ('' = none), activity_id, channel,
--          traceparent ('' or absent = none)
-- → {'ok', order_id, expires_ms, qty, remaining} | {'duplicate', order_id, expires_ms, qty, status}
--   | {<rejection>}: activity_not_found, closed, not_started, ended, limit_exceeded,
--     sold_out, rate_capped. A rejection changes nothing.
local order_id, user, qty, idem = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local activity_id, channel = ARGV[5], ARGV[6]
trace_context = ARGV[7] or ''

local a = redis.call('HMGET', K_ACTIVITY, 'status', 'start_ms', 'end_ms', 'remaining',
  'per_user_limit', 'payment_timeout_ms', 'max_sold_per_sec')
if not a[1] then return {'activity_not_found'} end

-- Before any other check: a retried request gets its order back, even after the sale closed.
if idem ~= '' then
  local existing = redis.call('HGET', K_IDEM, idem)
  local o = existing and load_order(existing)
  if o then return {'duplicate', o.id, tostring(o.expires), tostring(o.qty), o.status} end
end

if a[1] ~= 'open' then return {'closed'} end
local now = now_ms()
if now < tonumber(a[2]) then return {'not_started'} end
if now >= tonumber(a[3]) then return {'ended'} end

local held = tonumber(redis.call('HGET', K_BOUGHT, user) or '0')
if held + qty > tonumber(a[5]) then return {'limit_exceeded'} end
local remaining = tonumber(a[4])
if remaining < qty then return {'sold_out'} end

local cap = tonumber(a[7] or '0')
if cap > 0 then
  local sec = math.floor(now / 1000)
  local window = redis.call('HMGET', K_RATE, 'sec', 'sold')
  local sold = 0
  if tonumber(window[1] or '-1') == sec then sold = tonumber(window[2]) end
  if sold + qty > cap then return {'rate_capped'} end
  redis.call('HSET', K_RATE, 'sec', sec, 'sold', sold + qty)
end

-- Every check passed: from here on nothing can fail.
remaining = redis.call('HINCRBY', K_ACTIVITY, 'remaining', -qty)
redis.call('HINCRBY', K_BOUGHT, user, qty)
local o = {
  id = order_id, status = 'reserved', user = user, qty = qty, reserved = now,
  expires = now + tonumber(a[6]), changed = now, reason = '', trace = trace_context,
}
store_order(o)
redis.call('ZADD', K_DEADLINES, o.expires, order_id)
if idem ~= '' then redis.call('HSET', K_IDEM, idem, order_id) end
emit(o, activity_id)
if remaining == 0 then announce_stock(channel, activity_id, 0) end
return {'ok', order_id, tostring(o.expires), tostring(qty), tostring(remaining)}
