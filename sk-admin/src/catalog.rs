//! The catalog in MySQL (products and activities) and its push into Redis, where sk-core decides
//! on stock and sk-app instances read activity state.
//!
//! MySQL is the record; Redis holds what selling needs. Every create or change writes MySQL
//! first, then pushes the activity's state with `Inventory::put_activity` (which never resets
//! the stock counter of an activity that is already selling) and publishes a change event.

mod activities;
mod orders;
mod products;
mod reconcile;
mod repair;
mod stats;

use redis::aio::ConnectionManager;
use sk_common::domain::ActivityId;
use sk_common::mysql::MysqlPool;
use sk_common::stock::Inventory;

pub use activities::{Activity, ActivityStatus, NewActivity, StatusFilter};
pub use orders::{LedgerOrder, OrderFilter};
pub use products::{NewProduct, Product};
pub use reconcile::Reconciliation;
pub use repair::LiveStock;
pub use stats::ActivityStats;

use crate::Result;

/// The catalog's storage: MySQL for the record, Redis for what selling reads.
#[derive(Debug, Clone)]
pub struct Catalog {
    mysql: MysqlPool,
    redis: ConnectionManager,
    inventory: Inventory,
    activity_channel: String,
}

impl Catalog {
    /// A catalog over `mysql`, pushing into Redis under `inventory`'s prefix.
    #[must_use]
    pub fn new(
        mysql: MysqlPool,
        redis: ConnectionManager,
        inventory: Inventory,
        prefix: &str,
    ) -> Self {
        Self {
            mysql,
            redis,
            inventory,
            activity_channel: format!("{prefix}:activity-events"),
        }
    }

    /// Tells every subscriber (sk-app caches) that an activity changed.
    async fn announce(&self, activity_id: ActivityId, change: &str) -> Result<()> {
        let event = serde_json::json!({"activity_id": activity_id.get(), "change": change});
        redis::cmd("PUBLISH")
            .arg(&self.activity_channel)
            .arg(event.to_string())
            .query_async::<()>(&mut self.redis.clone())
            .await
            .map_err(sk_common::Error::from)?;
        Ok(())
    }
}
