//! The activity cache: what a purchase needs to know about a sale (open, time window,
//! `buy_rate`, sold out) without asking Redis each time.
//!
//! Filled on demand from the activity's Redis hash, refreshed by the state sync (change
//! events, full reloads) and remembered as unknown for a short while when Redis has no such
//! activity. The sold-out flag follows Redis's `remaining` as of the last stock event or read,
//! never sk-core's answers: a missed restock would otherwise leave it stuck and undersell.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock, RwLockWriteGuard};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use serde::Deserialize;
use sk_common::domain::{ActivityId, IdempotencyKey, UserId};
use sk_common::stock::{ActivityState, Inventory};

use crate::{Error, Result};

/// What the cheap checks need to know about one sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedActivity {
    /// Not closed by an admin.
    pub open: bool,
    /// First millisecond of the sale (Unix).
    pub start_ms: u64,
    /// First millisecond after the sale (Unix).
    pub end_ms: u64,
    /// Share of attempts admitted, parts per million.
    pub buy_rate_ppm: u32,
    /// Redis's stock was 0 at the last stock event or read.
    pub sold_out: bool,
}

impl CachedActivity {
    /// Whether a purchase at `now_ms` could succeed as far as this process knows.
    ///
    /// # Errors
    /// [`Error::Ended`] (closed or over), [`Error::NotStarted`], [`Error::SoldOut`].
    pub const fn check_selling(&self, now_ms: u64) -> Result<()> {
        if !self.open || now_ms >= self.end_ms {
            return Err(Error::Ended);
        }
        if now_ms < self.start_ms {
            return Err(Error::NotStarted);
        }
        if self.sold_out {
            return Err(Error::SoldOut);
        }
        Ok(())
    }
}

/// A stock change, as the order scripts publish it on `<prefix>:stock-events`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct StockEvent {
    activity_id: u64,
    remaining: i64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    /// `None`: Redis had no such activity at `read_at`.
    activity: Option<CachedActivity>,
    read_at: Instant,
}

#[derive(Debug, Default)]
struct Entries {
    by_id: HashMap<ActivityId, Entry>,
    /// Counts stock events, so a read that raced one does not trust its `remaining`.
    stock_events: u64,
}

/// The activity cache. Cheap to clone; clones share the entries.
#[derive(Debug, Clone)]
pub struct ActivityCache {
    inventory: Inventory,
    redis: ConnectionManager,
    negative_ttl: Duration,
    entries: Arc<RwLock<Entries>>,
}

impl ActivityCache {
    /// An empty cache reading activities through `redis` under `inventory`'s prefix.
    #[must_use]
    pub fn new(inventory: Inventory, redis: ConnectionManager, negative_ttl: Duration) -> Self {
        Self {
            inventory,
            redis,
            negative_ttl,
            entries: Arc::default(),
        }
    }

    /// The activity, from memory when known (or known unknown), otherwise from Redis.
    ///
    /// # Errors
    /// [`Error::StateUnavailable`] when Redis must be asked and fails.
    pub async fn get(&self, id: ActivityId) -> Result<Option<CachedActivity>> {
        let cached = self.read().by_id.get(&id).copied();
        match cached {
            Some(entry) if entry.activity.is_some() => Ok(entry.activity),
            Some(entry) if entry.read_at.elapsed() < self.negative_ttl => Ok(None),
            _ => self.refresh(id).await,
        }
    }

    /// Whether `user` already made an order on `id` under `key`, asked of Redis.
    ///
    /// # Errors
    /// [`Error::StateUnavailable`] when Redis fails.
    pub async fn knows_idempotency_key(
        &self,
        id: ActivityId,
        user: &UserId,
        key: &IdempotencyKey,
    ) -> Result<bool> {
        self.inventory
            .knows_idempotency_key(&mut self.redis.clone(), id, user, key)
            .await
            .map_err(|e| Error::StateUnavailable(e.to_string()))
    }

    /// Reads the activity from Redis and caches what it says.
    ///
    /// # Errors
    /// [`Error::StateUnavailable`] when Redis fails; the entry is then dropped, so the next
    /// purchase asks again rather than trusting a stale one.
    pub async fn refresh(&self, id: ActivityId) -> Result<Option<CachedActivity>> {
        let events_before = self.read().stock_events;
        let read = self
            .inventory
            .activity_state(&mut self.redis.clone(), id)
            .await;
        match read {
            Ok(state) => Ok(self.store(id, state, events_before)),
            Err(e) => {
                self.write().by_id.remove(&id);
                Err(Error::StateUnavailable(e.to_string()))
            }
        }
    }

    /// Re-reads every registered or cached activity (one pipelined round trip) and forgets
    /// expired unknown ids.
    ///
    /// # Errors
    /// When Redis fails (the entries are then kept as they were).
    pub async fn reload(&self) -> Result<usize> {
        let unavailable = |e: sk_common::Error| Error::StateUnavailable(e.to_string());
        let mut redis = self.redis.clone();
        let mut ids = self
            .inventory
            .activities(&mut redis)
            .await
            .map_err(unavailable)?;
        ids.extend(self.forget_expired());
        ids.sort_unstable();
        ids.dedup();
        let events_before = self.read().stock_events;
        let states = self
            .inventory
            .activity_states(&mut redis, &ids)
            .await
            .map_err(unavailable)?;
        for (&id, state) in ids.iter().zip(states) {
            self.store(id, state, events_before);
        }
        Ok(ids.len())
    }

    /// Sets or clears the sold-out flag from a stock event.
    pub fn apply_stock(&self, event: StockEvent) {
        let mut entries = self.write();
        entries.stock_events += 1;
        let Ok(id) = ActivityId::new(event.activity_id) else {
            return;
        };
        if let Some(activity) = entries.by_id.get_mut(&id).and_then(|e| e.activity.as_mut()) {
            activity.sold_out = event.remaining <= 0;
        }
    }

    /// Caches a read made when `events_before` stock events had been applied.
    fn store(
        &self,
        id: ActivityId,
        state: Option<ActivityState>,
        events_before: u64,
    ) -> Option<CachedActivity> {
        let mut entries = self.write();
        let flagged = entries
            .by_id
            .get(&id)
            .and_then(|e| e.activity)
            .is_some_and(|a| a.sold_out);
        // A stock event that arrived during the read may be newer than it: then only the
        // flag's current value, already set by that event, may keep a 0 as sold out.
        let raced = entries.stock_events != events_before;
        let activity = state.map(|s| CachedActivity {
            open: s.open,
            start_ms: s.start_ms,
            end_ms: s.end_ms,
            buy_rate_ppm: s.buy_rate_ppm,
            sold_out: s.remaining <= 0 && (!raced || flagged),
        });
        let read_at = Instant::now();
        entries.by_id.insert(id, Entry { activity, read_at });
        activity
    }

    /// Drops unknown ids whose time is up; returns the known ones (to be re-read).
    fn forget_expired(&self) -> Vec<ActivityId> {
        let mut entries = self.write();
        let ttl = self.negative_ttl;
        entries
            .by_id
            .retain(|_, e| e.activity.is_some() || e.read_at.elapsed() < ttl);
        entries
            .by_id
            .iter()
            .filter(|(_, e)| e.activity.is_some())
            .map(|(id, _)| *id)
            .collect()
    }

    // One insert or field update at a time: still consistent after a panic.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Entries> {
        self.entries.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use redis::aio::ConnectionManagerConfig;

    use super::*;

    fn cache() -> ActivityCache {
        // Never connects: these tests only exercise what happens in memory.
        let client = redis::Client::open("redis://127.0.0.1:1").unwrap();
        let config = ConnectionManagerConfig::new();
        let redis = ConnectionManager::new_lazy_with_config(client, config).unwrap();
        ActivityCache::new(Inventory::new("t"), redis, Duration::from_secs(1))
    }

    fn state(remaining: i64) -> ActivityState {
        ActivityState {
            open: true,
            start_ms: 100,
            end_ms: 200,
            remaining,
            buy_rate_ppm: 1_000_000,
        }
    }

    fn id(n: u64) -> ActivityId {
        ActivityId::new(n).unwrap()
    }

    fn stock(activity_id: u64, remaining: i64) -> StockEvent {
        StockEvent {
            activity_id,
            remaining,
        }
    }

    #[tokio::test]
    async fn the_window_and_the_flag_decide_in_order() {
        let mut activity = cache().store(id(1), Some(state(0)), 0).unwrap();
        assert!(matches!(activity.check_selling(99), Err(Error::NotStarted)));
        assert!(matches!(activity.check_selling(150), Err(Error::SoldOut)));
        assert!(matches!(activity.check_selling(200), Err(Error::Ended)));
        activity.sold_out = false;
        assert!(activity.check_selling(150).is_ok());
        activity.open = false;
        assert!(matches!(activity.check_selling(150), Err(Error::Ended)));
    }

    #[tokio::test]
    async fn stock_events_set_and_clear_the_flag() {
        let cache = cache();
        assert!(!cache.store(id(1), Some(state(3)), 0).unwrap().sold_out);
        cache.apply_stock(stock(1, 0));
        assert!(cache.read().by_id[&id(1)].activity.unwrap().sold_out);
        cache.apply_stock(stock(1, 2));
        assert!(!cache.read().by_id[&id(1)].activity.unwrap().sold_out);
    }

    #[tokio::test]
    async fn a_read_that_raced_a_restock_does_not_set_the_flag() {
        let cache = cache();
        cache.store(id(1), Some(state(1)), 0);
        let before = cache.read().stock_events;
        // The read saw 0, but a restock event was applied while it was under way.
        cache.apply_stock(stock(1, 1));
        assert!(!cache.store(id(1), Some(state(0)), before).unwrap().sold_out);
        // Without a race, a 0 read is believed.
        let now = cache.read().stock_events;
        assert!(cache.store(id(1), Some(state(0)), now).unwrap().sold_out);
    }

    #[tokio::test]
    async fn unknown_ids_are_forgotten_after_their_ttl_known_ones_are_kept() {
        let cache = cache();
        cache.store(id(1), Some(state(1)), 0);
        cache.store(id(2), None, 0);
        assert_eq!(cache.forget_expired(), vec![id(1)]);
        assert_eq!(cache.read().by_id.len(), 2, "id 2 is still within its ttl");
    }
}
