//! The order ledger (written by order-consumer) read back as whole orders, newest first.

use mysql_async::prelude::Queryable;
use mysql_async::{Params, Value};

use crate::Result;
use crate::domain::{ActivityId, OrderId, PriceCents, Quantity, UserId};
use crate::events::{CancelReason, OrderEvent, OrderStatus, SCHEMA_VERSION};
use crate::mysql::{MysqlPool, unix_ms};

/// Which ledger rows to read: every condition given must hold.
#[derive(Debug, Clone, Copy, Default)]
pub struct LedgerFilter<'a> {
    /// Only this activity's orders.
    pub activity_id: Option<u64>,
    /// Only this shopper's orders.
    pub user_id: Option<&'a UserId>,
    /// Only orders in this status.
    pub status: Option<OrderStatus>,
}

impl LedgerFilter<'_> {
    /// The `WHERE` conditions and their parameters, the page position last.
    fn conditions(&self, before: Option<OrderId>) -> (Vec<&'static str>, Vec<Value>) {
        let mut conditions = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        if let Some(activity_id) = self.activity_id {
            conditions.push("activity_id = ?");
            params.push(activity_id.into());
        }
        if let Some(user_id) = self.user_id {
            conditions.push("user_id = ?");
            params.push(user_id.as_str().into());
        }
        if let Some(status) = self.status {
            conditions.push("status = ?");
            params.push(status.as_str().into());
        }
        // Without a position: before the greatest id there can be.
        let before = before.map_or([0xff; 16], OrderId::to_bytes);
        conditions.push("order_id < ?");
        params.push(before.to_vec().into());
        (conditions, params)
    }
}

type Row = (
    Vec<u8>,
    u64,
    String,
    u32,
    u64,
    String,
    u64,
    u64,
    u64,
    Option<String>,
);

/// Up to `limit` orders matching `filter` with ids below `before` (all without one), newest
/// first. Rows this build cannot read are skipped.
///
/// # Errors
/// When MySQL fails.
pub async fn ledger_orders(
    mysql: &MysqlPool,
    filter: &LedgerFilter<'_>,
    before: Option<OrderId>,
    limit: u32,
) -> Result<Vec<OrderEvent>> {
    let (conditions, mut params) = filter.conditions(before);
    params.push(limit.into());
    let sql = format!(
        "SELECT order_id, activity_id, user_id, quantity, price_cents, CAST(status AS CHAR), \
         {}, {}, {}, cancel_reason FROM orders WHERE {} ORDER BY order_id DESC LIMIT ?",
        unix_ms("reserved_at"),
        unix_ms("expires_at"),
        unix_ms("COALESCE(paid_at, cancelled_at, reserved_at)"),
        conditions.join(" AND "),
    );
    let mut conn = mysql.conn().await?;
    let rows: Vec<Row> = conn.exec(sql, Params::Positional(params)).await?;
    Ok(rows.into_iter().filter_map(order_event).collect())
}

/// A ledger row as the whole-order shape the outbox carries; `None` when it cannot be read.
fn order_event(row: Row) -> Option<OrderEvent> {
    let (id, activity, user, quantity, price, status, reserved, expires, changed, reason) = row;
    Some(OrderEvent {
        schema_version: SCHEMA_VERSION,
        order_id: OrderId::from_bytes(id.try_into().ok()?).ok()?,
        activity_id: ActivityId::new(activity).ok()?,
        user_id: UserId::parse(&user).ok()?,
        quantity: Quantity::new(quantity).ok()?,
        price_cents: PriceCents::new(price).ok()?,
        status: OrderStatus::parse(&status)?,
        reserved_at_ms: reserved,
        expires_at_ms: expires,
        changed_at_ms: changed,
        cancel_reason: reason.as_deref().and_then(CancelReason::parse),
    })
}
