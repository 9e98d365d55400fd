//! Live figures of activities: stock from Redis (the authority), orders from the ledger.

use mysql_async::prelude::Queryable;
use serde::Serialize;
use sk_common::domain::ActivityId;

use super::{Activity, Catalog};
use crate::Result;

/// What an admin watches during a sale.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ActivityStats {
    /// Units taken (reserved or paid) according to Redis: `total_stock - remaining`.
    pub sold: u64,
    /// Units left in Redis (`null` when Redis holds no state for it).
    pub remaining: Option<u64>,
    /// Orders in the ledger still waiting for payment.
    pub reserved: u64,
    /// Orders in the ledger paid.
    pub paid: u64,
    /// Orders in the ledger cancelled or expired.
    pub cancelled: u64,
    /// Every order row in the ledger.
    pub persisted_orders: u64,
}

impl Catalog {
    /// Fills in the live figures of `activities` (one Redis pipeline, one SQL query).
    pub(super) async fn fill_stats(&self, activities: &mut [Activity]) -> Result<()> {
        if activities.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for a in activities.iter() {
            if let Ok(id) = ActivityId::new(a.id) {
                pipe.hget(self.inventory.keys(id).activity(), "remaining");
            }
        }
        let remaining: Vec<Option<i64>> = pipe
            .query_async(&mut self.redis.clone())
            .await
            .map_err(sk_common::Error::from)?;
        for (a, left) in activities.iter_mut().zip(remaining) {
            a.stats.remaining = left.map(|n| u64::try_from(n).unwrap_or(0));
            a.stats.sold = left.map_or(0, |n| {
                a.total_stock.saturating_sub(u64::try_from(n).unwrap_or(0))
            });
        }
        self.fill_ledger_counts(activities).await
    }

    async fn fill_ledger_counts(&self, activities: &mut [Activity]) -> Result<()> {
        let ids: Vec<u64> = activities.iter().map(|a| a.id).collect();
        let placeholders = vec!["?"; ids.len()].join(", ");
        let sql = format!(
            "SELECT activity_id, CAST(status AS CHAR), COUNT(*) FROM orders \
             WHERE activity_id IN ({placeholders}) GROUP BY activity_id, status"
        );
        let mut conn = self.mysql.conn().await?;
        let counts: Vec<(u64, String, u64)> =
            conn.exec(sql, ids).await.map_err(sk_common::Error::from)?;
        for (activity_id, status, count) in counts {
            let Some(a) = activities.iter_mut().find(|a| a.id == activity_id) else {
                continue;
            };
            match status.as_str() {
                "reserved" => a.stats.reserved = count,
                "paid" => a.stats.paid = count,
                _ => a.stats.cancelled = count,
            }
            a.stats.persisted_orders += count;
        }
        Ok(())
    }
}
