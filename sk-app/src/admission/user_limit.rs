//! Per-user purchase rate limit (a GCRA token bucket per user id, governor's keyed limiter):
//! a script hammering "buy" is told to slow down before it costs anything downstream. Each
//! sk-app instance counts on its own; buckets of users who went quiet are evicted regularly.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use sk_common::domain::UserId;
use sk_common::shutdown::{self, CancellationToken};

use crate::error::retry_after_secs;
use crate::settings::LimitsSettings;
use crate::{Error, Result};

/// How often idle users' buckets are dropped.
const EVICT_EVERY: Duration = Duration::from_secs(30);

type Limiter = RateLimiter<UserId, DefaultKeyedStateStore<UserId>, DefaultClock>;

/// The per-user limiter. Cheap to clone; clones share the buckets.
#[derive(Clone)]
pub struct UserRateLimit {
    limiter: Arc<Limiter>,
    clock: DefaultClock,
}

impl fmt::Debug for UserRateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserRateLimit")
            .field("users", &self.limiter.len())
            .finish()
    }
}

impl UserRateLimit {
    /// `user_per_sec` attempts a second per user, `user_burst` at once.
    #[must_use]
    pub fn new(settings: &LimitsSettings) -> Self {
        let quota = Quota::per_second(settings.user_per_sec).allow_burst(settings.user_burst);
        let clock = DefaultClock::default();
        Self {
            limiter: Arc::new(RateLimiter::dashmap_with_clock(quota, clock.clone())),
            clock,
        }
    }

    /// Takes one attempt from `user`'s bucket.
    ///
    /// # Errors
    /// [`Error::RateLimited`] with the wait until the next attempt is allowed.
    pub fn check(&self, user: &UserId) -> Result<()> {
        self.limiter.check_key(user).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            Error::RateLimited {
                retry_after_secs: retry_after_secs(wait),
            }
        })
    }

    /// Drops the buckets of users who are back to a full burst, regularly, until `shutdown`.
    ///
    /// # Errors
    /// Never; the type fits the service's task set.
    pub async fn evict_idle(self, shutdown: CancellationToken) -> Result<()> {
        shutdown::every(EVICT_EVERY, shutdown, || {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        })
        .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    #[test]
    fn a_user_past_the_burst_is_limited_others_are_not() {
        let settings = LimitsSettings {
            user_per_sec: NonZeroU32::new(1).unwrap(),
            user_burst: NonZeroU32::new(2).unwrap(),
        };
        let limit = UserRateLimit::new(&settings);
        let alice = UserId::parse("alice").unwrap();
        assert!(limit.check(&alice).is_ok());
        assert!(limit.check(&alice).is_ok());
        match limit.check(&alice) {
            Err(Error::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
            other => panic!("expected rate_limited, got {other:?}"),
        }
        assert!(limit.check(&UserId::parse("bob").unwrap()).is_ok());
    }
}
