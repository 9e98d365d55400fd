//! Serves each signed call once, across every sk-core: the nonce of each verified call is
//! marked in Redis (shared by all instances) with `SET NX`, and a call whose nonce is already
//! marked is a copy of one served before. Genuine calls never share a nonce (sk-app draws a new
//! one for every call, retries included), so only a replay is refused.
//!
//! A separate command rather than an extra key of the order scripts: it guards every route the
//! same way, including the order lookup and calls refused before any script runs, and a nonce
//! key belongs to no activity's cluster slot. On the shared multiplexed connection it is
//! pipelined with every other request's commands: one O(1) command and one round trip more.

use redis::aio::ConnectionManager;
use sk_common::signing::Nonce;
use sk_common::stock::Inventory;

use crate::Result;

/// Remembers the nonces of served calls.
#[derive(Debug, Clone)]
pub struct ReplayGuard {
    redis: ConnectionManager,
    inventory: Inventory,
    remember_ms: u64,
}

impl ReplayGuard {
    /// A guard for calls fresh within `max_skew_ms`, keeping its marks in `redis` under
    /// `inventory`'s key prefix.
    #[must_use]
    pub fn new(redis: ConnectionManager, inventory: Inventory, max_skew_ms: u64) -> Self {
        Self {
            redis,
            inventory,
            // A copy passes the freshness check within ±max_skew of its timestamp: a mark kept
            // for twice that from the first use outlives every moment a copy could still pass.
            remember_ms: max_skew_ms.saturating_mul(2).max(1),
        }
    }

    /// Marks `nonce` as served; `false` when it already was (this call is a replay).
    ///
    /// # Errors
    /// When Redis fails: the caller answers 503, as for any other call Redis cannot decide,
    /// rather than serving a call it could not check.
    pub async fn first_use(&self, nonce: Nonce) -> Result<bool> {
        let marked: Option<String> = redis::cmd("SET")
            .arg(self.inventory.served_call(nonce))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(self.remember_ms)
            .query_async(&mut self.redis.clone())
            .await
            .map_err(sk_common::Error::from)?;
        Ok(marked.is_some())
    }
}
