//! The scheduler's duties on the catalog: rebuilding an activity whose Redis state vanished
//! (a Redis restart without persistence, a flushed key) from the ledger, and finding the sales
//! that still need reconciling.

use mysql_async::prelude::Queryable;
use sk_common::domain::{ActivityId, OrderId, PriceCents, Quantity, UserId};
use sk_common::events::{CancelReason, OrderEvent, OrderStatus, SCHEMA_VERSION};
use sk_common::mysql::utc_datetime;
use sk_common::time::now_ms;

use super::Catalog;
use crate::{Error, Result};

/// Most activities one scheduler round looks at, so a round stays short.
const ROUND_MAX: u32 = 100;

type OrderRow = (
    Vec<u8>,
    String,
    u32,
    u64,
    String,
    u64,
    u64,
    u64,
    Option<String>,
);

impl Catalog {
    /// Rebuilds every activity that is still scheduled or selling but has no state in Redis;
    /// returns the ids it rebuilt.
    ///
    /// # Errors
    /// MySQL or Redis failures.
    pub async fn repair_missing(&self) -> Result<Vec<u64>> {
        let mut conn = self.mysql.conn().await?;
        let live: Vec<u64> = conn
            .exec(
                "SELECT id FROM activities WHERE closed_at IS NULL AND end_at > ? ORDER BY id LIMIT ?",
                (utc_datetime(now_ms()), ROUND_MAX),
            )
            .await
            .map_err(sk_common::Error::from)?;
        drop(conn);
        let live: Vec<ActivityId> = live
            .into_iter()
            .filter_map(|id| ActivityId::new(id).ok())
            .collect();
        if live.is_empty() {
            return Ok(Vec::new());
        }
        // One round trip for the whole round: most rounds find every activity in place.
        let mut pipe = redis::pipe();
        for activity_id in &live {
            pipe.exists(self.inventory.keys(*activity_id).activity());
        }
        let present: Vec<bool> = pipe
            .query_async(&mut self.redis.clone())
            .await
            .map_err(sk_common::Error::from)?;
        let mut repaired = Vec::new();
        for (activity_id, present) in live.into_iter().zip(present) {
            if !present {
                self.restore(activity_id).await?;
                repaired.push(activity_id.get());
            }
        }
        Ok(repaired)
    }

    /// Rebuilds one activity's Redis state from MySQL.
    async fn restore(&self, activity_id: ActivityId) -> Result<()> {
        let activity = self
            .load_activity(activity_id.get())
            .await?
            .ok_or(Error::ActivityNotFound)?;
        let orders = self.ledger_orders(activity_id).await?;
        let held: i64 = orders
            .iter()
            .filter(|o| o.status != OrderStatus::Cancelled)
            .map(|o| i64::from(o.quantity.get()))
            .sum();
        let remaining = i64::try_from(activity.total_stock).unwrap_or(i64::MAX) - held;
        self.inventory
            .restore_activity(
                &mut self.redis.clone(),
                activity_id,
                &activity.spec()?,
                remaining,
                &orders,
            )
            .await?;
        tracing::warn!(activity_id = %activity_id, remaining, orders = orders.len(), "rebuilt missing Redis state from the ledger");
        metrics::counter!("sk_admin_activity_repairs_total").increment(1);
        self.announce(activity_id, "repaired").await
    }

    async fn ledger_orders(&self, activity_id: ActivityId) -> Result<Vec<OrderEvent>> {
        let ms = |column: &str| format!("CAST(ROUND(UNIX_TIMESTAMP({column}) * 1000) AS UNSIGNED)");
        let sql = format!(
            "SELECT order_id, user_id, quantity, price_cents, CAST(status AS CHAR), {}, {}, {}, cancel_reason \
             FROM orders WHERE activity_id = ?",
            ms("reserved_at"),
            ms("expires_at"),
            ms("COALESCE(paid_at, cancelled_at, reserved_at)"),
        );
        let mut conn = self.mysql.conn().await?;
        let rows: Vec<OrderRow> = conn
            .exec(sql, (activity_id.get(),))
            .await
            .map_err(sk_common::Error::from)?;
        Ok(rows
            .into_iter()
            .filter_map(|row| order_event(activity_id, row))
            .collect())
    }

    /// Ended or closed activities whose last reconciliation is missing or not consistent, each
    /// with whether it was never reconciled (it has just ended).
    ///
    /// # Errors
    /// MySQL failures.
    pub async fn unreconciled(&self) -> Result<Vec<(u64, bool)>> {
        let mut conn = self.mysql.conn().await?;
        let ids = conn
            .exec(
                "SELECT a.id, r.activity_id IS NULL FROM activities a \
                 LEFT JOIN reconciliations r ON r.activity_id = a.id \
                 WHERE (a.closed_at IS NOT NULL OR a.end_at <= ?) \
                 AND (r.activity_id IS NULL OR r.difference <> 0 OR r.outbox_backlog <> 0) \
                 ORDER BY a.id LIMIT ?",
                (utc_datetime(now_ms()), ROUND_MAX),
            )
            .await
            .map_err(sk_common::Error::from)?;
        Ok(ids)
    }

    /// Tells subscribers (sk-app caches) that a sale has ended.
    ///
    /// # Errors
    /// Redis failures.
    pub async fn announce_ended(&self, activity_id: u64) -> Result<()> {
        let id = ActivityId::new(activity_id).map_err(|_| Error::ActivityNotFound)?;
        self.announce(id, "ended").await
    }
}

/// A ledger row as the whole-order shape Redis keeps; rows this build cannot read are skipped.
fn order_event(activity_id: ActivityId, row: OrderRow) -> Option<OrderEvent> {
    let (id, user, quantity, price, status, reserved, expires, changed, reason) = row;
    Some(OrderEvent {
        schema_version: SCHEMA_VERSION,
        order_id: OrderId::from_bytes(id.try_into().ok()?).ok()?,
        activity_id,
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
