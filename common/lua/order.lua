-- Shared by every order script (prepended at build time; see common/src/stock/scripts.rs).
--
-- KEYS (the same for every script; one activity = one hash tag = one cluster slot):
--   1 activity   hash: status, start_ms, end_ms, total, remaining, per_user_limit,
--                payment_timeout_ms, price_cents, max_sold_per_sec (0 = no cap)
--   2 bought     hash: user -> units held (reserved or paid)
--   3 idem       hash: idempotency field -> order id
--   4 orders     hash: order id -> "status|user|qty|reserved_ms|expires_ms|changed_ms|reason|trace"
--                (trace: the traceparent of the purchase, '' when none; records written
--                before it existed have the first seven fields only)
--   5 deadlines  zset: order id -> expires_ms, for reserved orders only
--   6 outbox     stream: one entry per transition, relayed to Kafka
--   7 rate       hash: sec, sold (the per-second sold cap's window)

local K_ACTIVITY, K_BOUGHT, K_IDEM, K_ORDERS, K_DEADLINES, K_OUTBOX, K_RATE =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]

-- Redis's clock, not the caller's: pay and expiry are judged on one clock.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function load_order(order_id)
  local raw = redis.call('HGET', K_ORDERS, order_id)
  if not raw then return nil end
  local status, user, qty, reserved, expires, changed, reason, trace =
    string.match(raw, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)|?([^|]*)$')
  return {
    id = order_id, status = status, user = user, qty = tonumber(qty),
    reserved = tonumber(reserved), expires = tonumber(expires),
    changed = tonumber(changed), reason = reason, trace = trace or '',
  }
end

local function store_order(o)
  redis.call('HSET', K_ORDERS, o.id, table.concat({
    o.status, o.user, o.qty, o.reserved, o.expires, o.changed, o.reason, o.trace or '' }, '|'))
end

-- The W3C traceparent of the caller's span ('' = none); each script sets it from its last
-- argument.
local trace_context = ''

-- The outbox entry carries the whole order after the transition (see events.rs), and the
-- trace of the order's purchase, which the relay sends on as a Kafka header: every event of
-- the order continues that one trace. A later transition's own caller (a payment, a
-- cancellation, the reaper) goes along as `cause`, for the relay to link to.
local function emit(o, activity_id)
  local price = redis.call('HGET', K_ACTIVITY, 'price_cents') or '0'
  local fields = {
    'order_id', o.id, 'activity_id', activity_id, 'user_id', o.user,
    'quantity', o.qty, 'price_cents', price, 'status', o.status,
    'reserved_at_ms', o.reserved, 'expires_at_ms', o.expires,
    'changed_at_ms', o.changed, 'cancel_reason', o.reason }
  local trace = o.trace ~= '' and o.trace or trace_context
  if trace ~= '' then
    fields[#fields + 1] = 'traceparent'
    fields[#fields + 1] = trace
  end
  if trace_context ~= '' and trace_context ~= trace then
    fields[#fields + 1] = 'cause'
    fields[#fields + 1] = trace_context
  end
  redis.call('XADD', K_OUTBOX, '*', unpack(fields))
end

-- Tells sk-app instances when an activity sells out and when units come back.
local function announce_stock(channel, activity_id, remaining)
  if channel ~= '' then
    redis.call('PUBLISH', channel,
      '{"activity_id":' .. activity_id .. ',"remaining":' .. remaining .. '}')
  end
end

-- Returns a reserved order's units to stock and to the shopper's allowance, exactly once:
-- callers have checked status == 'reserved', and the status changes here.
local function release(o, reason, now, activity_id, channel)
  local remaining = redis.call('HINCRBY', K_ACTIVITY, 'remaining', o.qty)
  local held = redis.call('HINCRBY', K_BOUGHT, o.user, -o.qty)
  if held <= 0 then redis.call('HDEL', K_BOUGHT, o.user) end
  redis.call('ZREM', K_DEADLINES, o.id)
  o.status, o.changed, o.reason = 'cancelled', now, reason
  store_order(o)
  emit(o, activity_id)
  if remaining == o.qty then announce_stock(channel, activity_id, remaining) end
end
