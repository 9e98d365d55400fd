//! The scheduler's duties on the catalog: reading the stock of the live sales, rebuilding an
//! activity whose Redis state vanished (a Redis restart without persistence, a flushed key)
//! from the ledger, and finding the sales that still need reconciling.

use mysql_async::prelude::Queryable;
use sk_common::catalog::{LedgerFilter, ledger_orders};
use sk_common::domain::ActivityId;
use sk_common::events::{OrderEvent, OrderStatus};
use sk_common::mysql::utc_datetime;
use sk_common::time::now_ms;

use super::Catalog;
use crate::{Error, Result};

/// Most activities one scheduler round looks at, so a round stays short.
const ROUND_MAX: u32 = 100;

/// A live activity (scheduled or selling) and its stock, as one scheduler round found it.
#[derive(Debug, Clone, Copy)]
pub struct LiveStock {
    /// The activity.
    pub activity_id: ActivityId,
    /// Its `total_stock` in the catalog.
    pub total_stock: u64,
    /// Units left in Redis; `None` when Redis holds no state for it. Signed, so a breach
    /// (stock below zero) shows as what it is.
    pub remaining: Option<i64>,
}

impl Catalog {
    /// The live activities (not closed, not ended; at most [`ROUND_MAX`]) with their stock
    /// in Redis: one SQL query and one Redis pipeline.
    ///
    /// # Errors
    /// MySQL or Redis failures.
    pub async fn live_stock(&self) -> Result<Vec<LiveStock>> {
        let mut conn = self.mysql.conn().await?;
        let live: Vec<(u64, u64)> = conn
            .exec(
                "SELECT id, total_stock FROM activities WHERE closed_at IS NULL AND end_at > ? ORDER BY id LIMIT ?",
                (utc_datetime(now_ms()), ROUND_MAX),
            )
            .await
            .map_err(sk_common::Error::from)?;
        drop(conn);
        let live: Vec<(ActivityId, u64)> = live
            .into_iter()
            .filter_map(|(id, total)| ActivityId::new(id).ok().map(|id| (id, total)))
            .collect();
        if live.is_empty() {
            return Ok(Vec::new());
        }
        // `remaining` is a field every activity hash has: absent means the state is missing.
        let mut pipe = redis::pipe();
        for (activity_id, _) in &live {
            pipe.hget(self.inventory.keys(*activity_id).activity(), "remaining");
        }
        let remaining: Vec<Option<i64>> = pipe
            .query_async(&mut self.redis.clone())
            .await
            .map_err(sk_common::Error::from)?;
        Ok(live
            .into_iter()
            .zip(remaining)
            .map(|((activity_id, total_stock), left)| LiveStock {
                activity_id,
                total_stock,
                remaining: left,
            })
            .collect())
    }

    /// Rebuilds every one of `live` that has no state in Redis; returns the ids it rebuilt.
    ///
    /// # Errors
    /// MySQL or Redis failures.
    pub async fn repair_missing(&self, live: &[LiveStock]) -> Result<Vec<u64>> {
        let mut repaired = Vec::new();
        for activity in live.iter().filter(|a| a.remaining.is_none()) {
            self.restore(activity.activity_id).await?;
            repaired.push(activity.activity_id.get());
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
        metrics::counter!(crate::metrics::ACTIVITY_REPAIRS).increment(1);
        self.announce(activity_id, "repaired").await
    }

    /// Every order of the activity in the ledger (rows this build cannot read are skipped).
    async fn ledger_orders(&self, activity_id: ActivityId) -> Result<Vec<OrderEvent>> {
        let filter = LedgerFilter {
            activity_id: Some(activity_id.get()),
            ..LedgerFilter::default()
        };
        Ok(ledger_orders(&self.mysql, &filter, None, u32::MAX).await?)
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
