//! The cheap checks of a purchase, cheapest first (DESIGN §4 step 2), all in memory except
//! an activity's first read: blacklist (user id, client IP) → activity (cache) → time window →
//! sold-out flag → per-user rate limit → one purchase in flight per user and activity →
//! `buy_rate` draw. Only a purchase that passes them all reaches sk-core.

mod activities;
mod blacklist;
mod user_limit;

use std::net::IpAddr;

use sk_common::domain::{ActivityId, IdempotencyKey, UserId};
use sk_common::forwarded::TrustedProxies;
use sk_common::redis::RedisHandle;
use sk_common::stock::{BUY_RATE_ALL_PPM, Inventory};
use sk_common::time::now_ms;

pub use activities::{ActivityCache, CachedActivity, StockEvent};
pub use blacklist::{Blacklist, BlacklistEvent};
pub use user_limit::UserRateLimit;

use crate::api::{InFlight, InFlightGuard};
use crate::{Error, Result, Settings};

/// Everything the checks consult. Cheap to clone; clones share their state.
#[derive(Debug, Clone)]
pub struct Admission {
    /// Which peers' `X-Forwarded-For` names the client.
    pub proxies: TrustedProxies,
    /// Listed users and addresses (kept fresh by the state sync).
    pub blacklist: Blacklist,
    /// Known sales (kept fresh by the state sync).
    pub activities: ActivityCache,
    /// Per-user attempt rate.
    pub user_limit: UserRateLimit,
    /// Purchases under way in this process.
    pub in_flight: InFlight,
}

impl Admission {
    /// Empty blacklists and cache (the state sync fills them) reading activities through
    /// `redis`.
    #[must_use]
    pub fn new(settings: &Settings, redis: &RedisHandle) -> Self {
        let inventory = Inventory::new(redis.key_prefix());
        Self {
            proxies: settings.edge.trusted_proxies.clone(),
            blacklist: Blacklist::default(),
            activities: ActivityCache::new(
                inventory,
                redis.connection(),
                settings.cache.negative_ttl(),
            ),
            user_limit: UserRateLimit::new(&settings.limits),
            in_flight: InFlight::default(),
        }
    }

    /// Runs every check for `user` at `ip` buying from `activity`; the slot returned keeps
    /// the user's other attempts on this activity out until the purchase is over.
    ///
    /// A purchase with an `Idempotency-Key` that an ended or sold-out sale already knows is
    /// not refused here: its first attempt succeeded with the answer lost, and sk-core returns
    /// that order again (DESIGN §3). A key the sale does not know is refused like any other
    /// purchase, so shoppers who retry cost sk-core nothing once a sale is sold out.
    ///
    /// # Errors
    /// The first check that refuses: [`Error::Blacklisted`], [`Error::ActivityNotFound`],
    /// [`Error::NotStarted`], [`Error::Ended`], [`Error::SoldOut`], [`Error::RateLimited`],
    /// [`Error::PurchaseInFlight`], [`Error::NotAdmitted`]; [`Error::StateUnavailable`] when
    /// Redis must be asked about the activity and fails.
    pub async fn admit(
        &self,
        user: &UserId,
        ip: IpAddr,
        activity: ActivityId,
        key: Option<&IdempotencyKey>,
    ) -> Result<InFlightGuard> {
        let decision = self.check_all(user, ip, activity, key).await;
        crate::metrics::count_admission(&decision);
        decision
    }

    async fn check_all(
        &self,
        user: &UserId,
        ip: IpAddr,
        activity: ActivityId,
        key: Option<&IdempotencyKey>,
    ) -> Result<InFlightGuard> {
        self.blacklist.check(user, ip)?;
        let sale = self
            .activities
            .get(activity)
            .await?
            .ok_or(Error::ActivityNotFound)?;
        match (sale.check_selling(now_ms()), key) {
            (Err(refusal @ (Error::Ended | Error::SoldOut)), Some(key)) => {
                if !self
                    .activities
                    .knows_idempotency_key(activity, user, key)
                    .await?
                {
                    return Err(refusal);
                }
            }
            (checked, _) => checked?,
        }
        self.user_limit.check(user)?;
        let slot = self
            .in_flight
            .claim(user, activity)
            .ok_or(Error::PurchaseInFlight)?;
        draw(sale.buy_rate_ppm)?;
        Ok(slot)
    }
}

/// Admits an attempt with probability `buy_rate_ppm` / 1,000,000.
fn draw(buy_rate_ppm: u32) -> Result<()> {
    if fastrand::u32(0..BUY_RATE_ALL_PPM) < buy_rate_ppm {
        Ok(())
    } else {
        Err(Error::NotAdmitted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_draw_admits_all_none_or_about_the_share() {
        assert!((0..1_000).all(|_| draw(BUY_RATE_ALL_PPM).is_ok()));
        assert!((0..1_000).all(|_| draw(0).is_err()));
        let admitted = (0..10_000).filter(|_| draw(250_000).is_ok()).count();
        assert!((2_000..3_000).contains(&admitted), "{admitted}");
    }
}
