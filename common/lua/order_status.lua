-- order_status: ARGV order_id → {} when unknown, else
-- {status, user, qty, reserved_ms, expires_ms, changed_ms, reason, price_cents}
local o = load_order(ARGV[1])
if not o then return {} end
local price = redis.call('HGET', K_ACTIVITY, 'price_cents') or '0'
return {o.status, o.user, tostring(o.qty), tostring(o.reserved), tostring(o.expires),
  tostring(o.changed), o.reason, price}
