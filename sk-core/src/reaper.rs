//! The deadline reaper: expires reservations whose payment deadline has passed, returning their
//! units to stock. Every instance runs one; that is safe because the expire script only acts on
//! an order that is still `reserved` and overdue by Redis's clock, so two reapers (or a reaper
//! and a late payment) racing on one order resolve to exactly one outcome.

use std::time::Duration;

use futures_util::future::join_all;
use redis::aio::ConnectionManager;
use sk_common::domain::ActivityId;
use sk_common::redis::RedisHandle;
use sk_common::stock::{ExpireOutcome, Inventory};
use sk_common::trace::continue_trace;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::Result;
use crate::settings::ReaperSettings;

/// Sweeps every registered activity's deadline set on an interval.
#[derive(Debug, Clone)]
pub struct DeadlineReaper {
    inventory: Inventory,
    redis: RedisHandle,
    settings: ReaperSettings,
}

impl DeadlineReaper {
    /// A reaper over the activities of `inventory`.
    #[must_use]
    pub const fn new(inventory: Inventory, redis: RedisHandle, settings: ReaperSettings) -> Self {
        Self {
            inventory,
            redis,
            settings,
        }
    }

    /// Sweeps until `shutdown`.
    ///
    /// # Errors
    /// Never: a failed sweep is logged and the next one tries again.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let interval = Duration::from_millis(self.settings.interval_ms);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(interval) => {}
            }
            if let Err(e) = self.sweep().await {
                tracing::warn!(error = %e, "deadline sweep failed");
            }
        }
    }

    async fn sweep(&self) -> Result<()> {
        let mut conn = self.redis.connection();
        let now = redis_now_ms(&mut conn).await?;
        for activity_id in self.inventory.activities(&mut conn).await? {
            while self.expire_batch(&conn, activity_id, now).await? == self.settings.batch_max {}
        }
        Ok(())
    }

    /// Expires up to a batch of overdue orders concurrently (pipelined on the shared
    /// connection); returns how many were overdue.
    async fn expire_batch(
        &self,
        conn: &ConnectionManager,
        activity_id: ActivityId,
        now_ms: u64,
    ) -> Result<usize> {
        let overdue = self
            .inventory
            .overdue(
                &mut conn.clone(),
                activity_id,
                now_ms,
                self.settings.batch_max,
            )
            .await?;
        let outcomes = join_all(overdue.iter().map(|order_id| {
            let mut conn = conn.clone();
            // Each expiry starts a trace of its own, which its outbox event carries on.
            let span = tracing::info_span!(
                "expire",
                otel.name = "reservation expiry",
                order_id = %order_id,
                activity_id = activity_id.get(),
                trace_id = tracing::field::Empty,
            );
            continue_trace(&span, None);
            async move {
                self.inventory
                    .expire(&mut conn, activity_id, order_id)
                    .await
            }
            .instrument(span)
        }))
        .await;
        let mut expired = 0_u64;
        for outcome in outcomes {
            if outcome? == ExpireOutcome::Expired {
                expired += 1;
            }
        }
        if expired > 0 {
            tracing::debug!(activity_id = %activity_id, expired, "expired overdue reservations");
            metrics::counter!(crate::metrics::RESERVATIONS_EXPIRED).increment(expired);
        }
        Ok(overdue.len())
    }
}

/// Redis's clock, which the scripts judge deadlines by.
async fn redis_now_ms(conn: &mut ConnectionManager) -> Result<u64> {
    let (secs, micros): (u64, u64) = redis::cmd("TIME")
        .query_async(conn)
        .await
        .map_err(sk_common::Error::from)?;
    Ok(secs * 1_000 + micros / 1_000)
}
