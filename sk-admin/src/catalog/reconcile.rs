//! Reconciliation: does the ledger in MySQL agree with the stock decisions in Redis?
//!
//! Redis is the authority on units: `total_stock − remaining` units are taken (reserved or
//! paid). Once the outbox is drained, MySQL's non-cancelled units must be exactly that
//! (DESIGN §6, invariant 4). The report says both, the orders per status in the ledger, the
//! outbox backlog still on its way, and the difference.

use mysql_async::prelude::Queryable;
use serde::Serialize;
use sk_common::domain::ActivityId;
use sk_common::mysql::utc_datetime;
use sk_common::time::{now_ms, rfc3339_from_ms};

use super::Catalog;
use crate::{Error, Result};

/// Redis against the ledger for one activity.
#[derive(Debug, Clone, Serialize)]
pub struct Reconciliation {
    /// The activity.
    pub activity_id: u64,
    /// When the comparison ran (RFC 3339).
    pub checked_at: String,
    /// Units taken according to Redis (`total_stock − remaining`).
    pub redis_sold_units: i64,
    /// Units left in Redis (`null` when Redis holds no state for the activity).
    pub redis_remaining: Option<i64>,
    /// Non-cancelled units in the ledger.
    pub ledger_units: i64,
    /// Ledger orders per status.
    pub ledger_reserved: i64,
    /// Paid orders in the ledger.
    pub ledger_paid: i64,
    /// Cancelled or expired orders in the ledger.
    pub ledger_cancelled: i64,
    /// Outbox entries not yet relayed to Kafka (while above 0, a difference is expected).
    pub outbox_backlog: i64,
    /// `redis_sold_units − ledger_units`: 0 when they agree.
    pub difference: i64,
    /// The outbox is empty and the difference is 0.
    pub consistent: bool,
}

impl Catalog {
    /// Compares Redis with the ledger for `activity_id` now, stores the result and records the
    /// difference as a metric.
    ///
    /// # Errors
    /// [`Error::ActivityNotFound`]; MySQL or Redis failures.
    pub async fn reconcile(&self, activity_id: u64) -> Result<Reconciliation> {
        let activity = self.activity(activity_id).await?;
        let id = ActivityId::new(activity_id).map_err(|_| Error::ActivityNotFound)?;
        let keys = self.inventory.keys(id);
        let mut redis = self.redis.clone();
        let (remaining, backlog): (Option<i64>, i64) = redis::pipe()
            .hget(keys.activity(), "remaining")
            .xlen(keys.outbox())
            .query_async(&mut redis)
            .await
            .map_err(sk_common::Error::from)?;
        let total = i64::try_from(activity.total_stock).unwrap_or(i64::MAX);
        let redis_sold_units = remaining.map_or(0, |left| total - left);
        let ledger_units = self.ledger_units(activity_id).await?;
        let difference = redis_sold_units - ledger_units;
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let report = Reconciliation {
            activity_id,
            checked_at: rfc3339_from_ms(now_ms()),
            redis_sold_units,
            redis_remaining: remaining,
            ledger_units,
            ledger_reserved: count(activity.stats.reserved),
            ledger_paid: count(activity.stats.paid),
            ledger_cancelled: count(activity.stats.cancelled),
            outbox_backlog: backlog,
            difference,
            consistent: difference == 0 && backlog == 0,
        };
        self.store(&report).await?;
        #[allow(clippy::cast_precision_loss, reason = "a gauge")]
        metrics::gauge!(crate::metrics::RECONCILIATION_DIFFERENCE, "activity_id" => activity_id.to_string())
            .set(difference as f64);
        Ok(report)
    }

    /// Takes a finished sale off the list the relay and the reaper walk, once nothing can still
    /// change in Redis: no reservation waits for payment and the outbox is empty. Its keys
    /// stay, so reports and order lookups keep working. Returns whether it was retired.
    ///
    /// # Errors
    /// [`Error::ActivityNotFound`]; Redis failures.
    pub async fn retire(&self, activity_id: u64) -> Result<bool> {
        let id = ActivityId::new(activity_id).map_err(|_| Error::ActivityNotFound)?;
        let keys = self.inventory.keys(id);
        let mut redis = self.redis.clone();
        let (waiting, backlog): (u64, u64) = redis::pipe()
            .zcard(keys.deadlines())
            .xlen(keys.outbox())
            .query_async(&mut redis)
            .await
            .map_err(sk_common::Error::from)?;
        if waiting > 0 || backlog > 0 {
            return Ok(false);
        }
        redis::cmd("SREM")
            .arg(self.inventory.registry())
            .arg(activity_id)
            .query_async::<()>(&mut redis)
            .await
            .map_err(sk_common::Error::from)?;
        Ok(true)
    }

    async fn ledger_units(&self, activity_id: u64) -> Result<i64> {
        let mut conn = self.mysql.conn().await?;
        let units: Option<i64> = conn
            .exec_first(
                "SELECT CAST(COALESCE(SUM(quantity), 0) AS SIGNED) FROM orders \
                 WHERE activity_id = ? AND status <> 'cancelled'",
                (activity_id,),
            )
            .await
            .map_err(sk_common::Error::from)?;
        Ok(units.unwrap_or(0))
    }

    async fn store(&self, r: &Reconciliation) -> Result<()> {
        let mut conn = self.mysql.conn().await?;
        conn.exec_drop(
            "REPLACE INTO reconciliations (activity_id, checked_at, redis_sold_units, \
             redis_remaining, ledger_units, ledger_reserved, ledger_paid, ledger_cancelled, \
             outbox_backlog, difference) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                r.activity_id,
                utc_datetime(now_ms()),
                r.redis_sold_units,
                r.redis_remaining,
                r.ledger_units,
                r.ledger_reserved,
                r.ledger_paid,
                r.ledger_cancelled,
                r.outbox_backlog,
                r.difference,
            ),
        )
        .await
        .map_err(sk_common::Error::from)?;
        Ok(())
    }
}
