//! Browsing (DESIGN §3): the activity list and detail shoppers refresh during a sale, and a
//! shopper's own orders. Read from MySQL (catalog rows, the ledger) and Redis (the live
//! `remaining`), never from sk-core, so browsing adds nothing to the purchase path there.
//!
//! - Catalog rows are reused for `browse.cache_ms` with one load per key at a time (see
//!   [`memo`]): however many shoppers refresh, MySQL sees about one query per activity and
//!   per page per period on each instance (an unknown id is remembered too, so a new sale shows
//!   up within that period). The status is derived when answering, from the reused times, so
//!   it flips to `open` or `ended` on time.
//! - `remaining` comes from the activity's Redis hash, one pipelined HGET per answer, reused
//!   for `browse.remaining_cache_ms` (200 ms by default): a crowd costs Redis — which decides
//!   every purchase — a few reads a second, and a sale that sold out shows 0 within a blink.
//!   It is `null` when Redis holds no state for the sale (not pushed yet, or lost and not yet
//!   repaired by sk-admin) or does not answer: unknown, never a guess from `total_stock`.
//! - The caller's orders come from the ledger uncached (see [`orders`]).
//! - MySQL unreachable: [`Error::MysqlUnavailable`], a 503 with Retry-After, never a 500.

mod memo;
mod orders;

use std::sync::Arc;

use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use sk_common::catalog::{
    ActivityPosition, ActivityRow, ActivityStatus, activity_by_id, activity_page,
};
use sk_common::cursor::{self, next_page};
use sk_common::domain::ActivityId;
use sk_common::mysql::MysqlPool;
use sk_common::stock::Inventory;
use sk_common::time::{now_ms, rfc3339_from_ms};

use crate::settings::BrowseSettings;
use crate::{Error, Result};
use memo::Memo;

/// Most activities remembered one by one (unknown ids included) before the memo forgets.
const ACTIVITY_KEYS: usize = 4_096;
/// Most list pages remembered (up to 200 rows each) before the memo forgets.
const PAGE_KEYS: usize = 256;

/// A page of the list: the position it starts after, and its size.
type PageKey = (Option<ActivityPosition>, u32);

/// The browse reads. Cheap to clone; clones share pools and memos.
#[derive(Debug, Clone)]
pub struct Browse {
    mysql: MysqlPool,
    redis: ConnectionManager,
    inventory: Inventory,
    activities: Memo<u64, Option<ActivityRow>>,
    pages: Memo<PageKey, Vec<ActivityRow>>,
    remaining: Memo<Vec<u64>, Vec<Option<u64>>>,
}

/// An activity as shoppers see it (no admin figures).
#[derive(Debug, Clone, Serialize)]
pub struct ShopperActivity {
    id: u64,
    name: String,
    status: ActivityStatus,
    start_at: String,
    end_at: String,
    price_cents: u64,
    total_stock: u64,
    per_user_limit: u64,
    /// Units left per Redis; `None` when unknown.
    remaining: Option<u64>,
}

impl ShopperActivity {
    fn new(row: &ActivityRow, remaining: Option<u64>, now: u64) -> Self {
        Self {
            id: row.id,
            name: row.name.clone(),
            status: row.status(now),
            start_at: rfc3339_from_ms(row.start_ms),
            end_at: rfc3339_from_ms(row.end_ms),
            price_cents: row.price_cents,
            total_stock: row.total_stock,
            per_user_limit: row.per_user_limit,
            remaining,
        }
    }
}

/// Where the next page of the shopper list starts (the admin list's cursors do not fit).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActivityCursor {
    start_ms: u64,
    id: u64,
}

impl Browse {
    /// Browse reads over `mysql` and the Redis keys of `inventory`.
    #[must_use]
    pub fn new(
        mysql: MysqlPool,
        redis: ConnectionManager,
        inventory: Inventory,
        settings: &BrowseSettings,
    ) -> Self {
        Self {
            mysql,
            redis,
            inventory,
            activities: Memo::new(settings.cache(), ACTIVITY_KEYS),
            pages: Memo::new(settings.cache(), PAGE_KEYS),
            remaining: Memo::new(settings.remaining_cache(), ACTIVITY_KEYS),
        }
    }

    /// One activity; an id that is not a positive number is simply not found.
    ///
    /// # Errors
    /// [`Error::ActivityNotFound`], [`Error::MysqlUnavailable`].
    pub async fn activity(&self, id: &str) -> Result<ShopperActivity> {
        let id = ActivityId::parse(id)
            .map_err(|_| Error::ActivityNotFound)?
            .get();
        let mysql = self.mysql.clone();
        let row = self
            .activities
            .get(id, move || async move {
                activity_by_id(&mysql, id).await.inspect_err(log_mysql)
            })
            .await
            .map_err(mysql_unavailable)?;
        let row = (*row).as_ref().ok_or(Error::ActivityNotFound)?;
        let remaining = self.remaining(vec![id]).await.first().copied().flatten();
        Ok(ShopperActivity::new(row, remaining, now_ms()))
    }

    /// A page of activities, latest start first (id as the tie-break), and the next cursor.
    ///
    /// # Errors
    /// [`Error::InvalidCursor`] for a cursor this list did not make; [`Error::MysqlUnavailable`].
    pub async fn activities(
        &self,
        limit: u32,
        after: Option<&str>,
    ) -> Result<(Vec<ShopperActivity>, Option<String>)> {
        let after = cursor::decode_optional::<ActivityCursor>(after)
            .map_err(|_| Error::InvalidCursor)?
            .map(|c| ActivityPosition {
                start_ms: c.start_ms,
                id: c.id,
            });
        let rows = self.page(after, limit).await?;
        let mut page: Vec<&ActivityRow> = rows.iter().collect();
        let next = next_page(&mut page, limit, |last| {
            let ActivityPosition { start_ms, id } = last.position();
            cursor::encode(&ActivityCursor { start_ms, id })
        });
        let remaining = self
            .remaining(page.iter().map(|row| row.id).collect())
            .await;
        let now = now_ms();
        let items = page
            .into_iter()
            .zip(remaining)
            .map(|(row, left)| ShopperActivity::new(row, left, now))
            .collect();
        Ok((items, next))
    }

    /// Up to `limit + 1` rows after `after` (the extra one tells whether a next page exists).
    async fn page(
        &self,
        after: Option<ActivityPosition>,
        limit: u32,
    ) -> Result<Arc<Vec<ActivityRow>>> {
        let mysql = self.mysql.clone();
        self.pages
            .get((after, limit), move || async move {
                activity_page(&mysql, None, after, limit + 1, now_ms())
                    .await
                    .inspect_err(log_mysql)
            })
            .await
            .map_err(mysql_unavailable)
    }

    /// Units left of each activity, in order; `None` where unknown (see the module docs).
    async fn remaining(&self, ids: Vec<u64>) -> Vec<Option<u64>> {
        let count = ids.len();
        if count == 0 {
            return Vec::new();
        }
        let (redis, inventory) = (self.redis.clone(), self.inventory.clone());
        let lookup = ids.clone();
        let loaded = self
            .remaining
            .get(ids, move || remaining_in_redis(redis, inventory, lookup))
            .await;
        loaded.map_or_else(|_| vec![None; count], |left| left.to_vec())
    }
}

/// One pipelined HGET of `remaining` per activity.
async fn remaining_in_redis(
    mut redis: ConnectionManager,
    inventory: Inventory,
    ids: Vec<u64>,
) -> sk_common::Result<Vec<Option<u64>>> {
    let valid: Vec<Option<ActivityId>> = ids.iter().map(|&id| ActivityId::new(id).ok()).collect();
    let mut pipe = redis::pipe();
    for id in valid.iter().flatten() {
        pipe.hget(inventory.keys(*id).activity(), "remaining");
    }
    let answers: Vec<Option<i64>> = pipe
        .query_async(&mut redis)
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "remaining stock not read from redis"))?;
    let mut answers = answers.into_iter();
    Ok(valid
        .iter()
        .map(|id| {
            let left = id.and_then(|_| answers.next().flatten())?;
            // The scripts never take stock below 0; a negative value would be a bug: show 0.
            Some(u64::try_from(left).unwrap_or(0))
        })
        .collect())
}

/// Logs a failed MySQL read once per load (not once per waiting shopper).
fn log_mysql(error: &sk_common::Error) {
    tracing::warn!(%error, "catalog read from mysql failed");
}

fn mysql_unavailable(error: Arc<sk_common::Error>) -> Error {
    Error::MysqlUnavailable(error.to_string())
}
