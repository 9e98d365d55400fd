//! The scheduler: exactly one sk-admin instance leads at a time, elected with the same
//! self-renewing, fenced Redis lock as the outbox relay. Followers bid for the lock every
//! round; the leader works until its lease is lost (a renewal failed), then stops at once.
//!
//! The leader's duties (reporting the stock of live sales, repairing missing Redis state,
//! reconciling Redis with the ledger after a sale) run in `Scheduler::lead_round`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;
use sk_common::lock::{Lease, RedisLock};
use sk_common::redis::RedisHandle;
use tokio_util::sync::CancellationToken;

use crate::Result;
use crate::blacklist::Blacklist;
use crate::catalog::Catalog;
use crate::settings::SchedulerSettings;

/// Who this instance is and whether it leads (the fence while it does, 0 otherwise).
#[derive(Debug, Clone)]
pub struct Leadership {
    instance_id: Arc<str>,
    fence: Arc<AtomicU64>,
}

/// What `GET /admin/v1/scheduler` shows.
#[derive(Debug, Clone, Serialize)]
pub struct LeadershipView {
    /// This instance's id (also the owner part of the lock value).
    pub instance_id: String,
    /// Whether this instance leads now.
    pub leading: bool,
    /// The lease's fencing token while leading.
    pub fence: Option<u64>,
}

impl Leadership {
    fn new() -> Self {
        Self {
            instance_id: uuid::Uuid::now_v7().to_string().into(),
            fence: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The current state.
    #[must_use]
    pub fn view(&self) -> LeadershipView {
        let fence = self.fence.load(Ordering::SeqCst);
        LeadershipView {
            instance_id: self.instance_id.to_string(),
            leading: fence != 0,
            fence: (fence != 0).then_some(fence),
        }
    }
}

/// Bids for leadership and, while leading, runs the rounds.
#[derive(Debug, Clone)]
pub struct Scheduler {
    catalog: Catalog,
    blacklist: Blacklist,
    redis: RedisHandle,
    lock: RedisLock,
    settings: SchedulerSettings,
    leadership: Leadership,
}

impl Scheduler {
    /// A scheduler electing its leader through `<prefix>:{scheduler}:lock`.
    #[must_use]
    pub fn new(
        catalog: Catalog,
        blacklist: Blacklist,
        redis: RedisHandle,
        settings: SchedulerSettings,
    ) -> Self {
        let leadership = Leadership::new();
        let lock = RedisLock::new(
            format!("{}:{{scheduler}}:lock", redis.key_prefix()),
            &leadership.instance_id,
            Duration::from_millis(settings.lock_ttl_ms),
        );
        Self {
            catalog,
            blacklist,
            redis,
            lock,
            settings,
            leadership,
        }
    }

    /// A handle that reports leadership (for the admin API).
    #[must_use]
    pub fn leadership(&self) -> Leadership {
        self.leadership.clone()
    }

    /// Bids and leads until `shutdown`, then hands the lock back.
    ///
    /// # Errors
    /// Never: Redis failures are logged and the next round bids again.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let interval = Duration::from_millis(self.settings.interval_ms);
        loop {
            match self.lock.try_acquire(&self.redis.connection()).await {
                Ok(Some(lease)) => {
                    self.lead(&lease, &shutdown).await;
                    self.leadership.fence.store(0, Ordering::SeqCst);
                    if !lease.lost().is_cancelled() {
                        lease.release(&self.redis.connection()).await;
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cannot bid for the scheduler lock"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// Leads until the lease is lost or shutdown.
    async fn lead(&self, lease: &Lease, shutdown: &CancellationToken) {
        tracing::info!(fence = lease.fence(), "leading the scheduler");
        self.leadership.fence.store(lease.fence(), Ordering::SeqCst);
        let interval = Duration::from_millis(self.settings.interval_ms);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = lease.lost().cancelled() => {
                    tracing::warn!("scheduler lease lost; no longer leading");
                    return;
                }
                () = tokio::time::sleep(interval) => {}
            }
            self.lead_round(lease).await;
        }
    }

    /// One round of the leader's duties: report the stock of the live activities, rebuild
    /// those whose Redis state is missing and re-mirror the blacklist if Redis lost it, then
    /// announce sales that just ended, reconcile the sales that ended (again each round until
    /// Redis and the ledger agree and the outbox is empty) and retire the ones that agree.
    async fn lead_round(&self, lease: &Lease) {
        tracing::trace!(fence = lease.fence(), "scheduler round");
        match self.catalog.live_stock().await {
            Ok(live) => {
                crate::metrics::record_stock(&live);
                if let Err(e) = self.catalog.repair_missing(&live).await {
                    tracing::warn!(error = %e, "cannot rebuild missing Redis state");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot check activities for missing Redis state"),
        }
        if let Err(e) = self.blacklist.resync().await {
            tracing::warn!(error = %e, "cannot check the blacklist mirror in Redis");
        }
        let ended = match self.catalog.unreconciled().await {
            Ok(ended) => ended,
            Err(e) => {
                tracing::warn!(error = %e, "cannot list sales to reconcile");
                return;
            }
        };
        for (activity_id, just_ended) in ended {
            if lease.lost().is_cancelled() {
                return;
            }
            if just_ended && let Err(e) = self.catalog.announce_ended(activity_id).await {
                tracing::warn!(activity_id, error = %e, "cannot announce the end of a sale");
            }
            match self.catalog.reconcile(activity_id).await {
                Ok(report) if report.consistent => self.retire(activity_id).await,
                Ok(_) => {}
                Err(e) => tracing::warn!(activity_id, error = %e, "reconciliation failed"),
            }
        }
    }

    /// Takes a reconciled sale off the relay's and the reaper's rounds.
    async fn retire(&self, activity_id: u64) {
        match self.catalog.retire(activity_id).await {
            Ok(true) => tracing::info!(activity_id, "sale reconciled and retired"),
            Ok(false) => {}
            Err(e) => tracing::warn!(activity_id, error = %e, "cannot retire a reconciled sale"),
        }
    }
}
