//! Admission before anything is forwarded: a token bucket per client address (governor),
//! one per route family, and a concurrency limit that sheds load at once instead of queueing.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use sk_common::forwarded::TrustedProxies;
use sk_common::shutdown::{self, CancellationToken};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, LimitScope, Result};
use crate::settings::LimitSettings;

/// How often buckets of addresses that went quiet are dropped, so memory stays flat.
const TRIM_EVERY: Duration = Duration::from_secs(30);

/// A bucket refilled at `per_sec` holding up to `burst` (both validated ≥ 1 by the settings).
fn quota(per_sec: u32, burst: u32) -> Quota {
    let nonzero = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(nonzero(per_sec)).allow_burst(nonzero(burst))
}

/// The bucket an address draws from: an IPv4 address its own, an IPv6 address its /64 (one
/// host can pick any address of its /64, so a bucket per address would limit nobody).
fn limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        v4 => v4,
    }
}

/// The limits every client shares: per-address buckets and the concurrency slots.
#[derive(Debug, Clone)]
pub struct ClientLimits {
    per_ip: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    exempt: TrustedProxies,
    slots: Arc<Semaphore>,
}

impl ClientLimits {
    /// Limits as configured.
    #[must_use]
    pub fn new(settings: &LimitSettings) -> Self {
        let slots = usize::try_from(settings.max_concurrency).unwrap_or(usize::MAX);
        Self {
            per_ip: Arc::new(RateLimiter::dashmap(quota(
                settings.per_ip_per_sec,
                settings.per_ip_burst,
            ))),
            exempt: settings.exempt.clone(),
            slots: Arc::new(Semaphore::new(slots)),
        }
    }

    /// Takes a token from `ip`'s bucket unless the address is exempt.
    ///
    /// # Errors
    /// [`Error::RateLimited`] with the wait until the next token.
    pub fn admit(&self, ip: IpAddr) -> Result<()> {
        if self.exempt.contains(ip) {
            return Ok(());
        }
        self.per_ip.check_key(&limit_key(ip)).map_err(|not_until| {
            metrics::counter!(crate::metrics::RATE_LIMITED, "scope" => LimitScope::Ip.as_str())
                .increment(1);
            Error::RateLimited {
                scope: LimitScope::Ip,
                retry_after: not_until.wait_time_from(self.per_ip.clock().now()),
            }
        })
    }

    /// One of the concurrency slots, held until the upstream's response headers arrive.
    ///
    /// # Errors
    /// [`Error::Shed`] when every slot is taken: the caller answers 503 at once.
    pub fn slot(&self, family: &'static str) -> Result<OwnedSemaphorePermit> {
        Arc::clone(&self.slots).try_acquire_owned().map_err(|_| {
            metrics::counter!(crate::metrics::SHED, "route" => family).increment(1);
            Error::Shed
        })
    }

    /// Drops the buckets of quiet addresses every half minute until `shutdown`.
    ///
    /// # Errors
    /// Never; the signature fits [`sk_common::shutdown::Tasks::spawn`].
    pub async fn keep_trimmed(self, shutdown: CancellationToken) -> Result<(), String> {
        shutdown::every(TRIM_EVERY, shutdown, || {
            self.per_ip.retain_recent();
            self.per_ip.shrink_to_fit();
        })
        .await;
        Ok(())
    }
}

/// The bucket of one route family, shared by every client.
#[derive(Debug)]
pub struct RouteLimit {
    bucket: DefaultDirectRateLimiter,
}

impl RouteLimit {
    /// A bucket refilled at `per_sec` holding up to `burst`.
    #[must_use]
    pub fn new(per_sec: u32, burst: u32) -> Self {
        Self {
            bucket: RateLimiter::direct(quota(per_sec, burst)),
        }
    }

    /// Takes a token.
    ///
    /// # Errors
    /// [`Error::RateLimited`] with the wait until the next token.
    pub fn admit(&self) -> Result<()> {
        self.bucket.check().map_err(|not_until| {
            metrics::counter!(crate::metrics::RATE_LIMITED, "scope" => LimitScope::Route.as_str())
                .increment(1);
            Error::RateLimited {
                scope: LimitScope::Route,
                retry_after: not_until.wait_time_from(self.bucket.clock().now()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse()
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED))
    }

    #[test]
    fn an_ipv6_host_draws_from_its_slash_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("2001:db8:1:2:ffff::9")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(limit_key(ip("192.0.2.7")), ip("192.0.2.7"));
    }

    fn settings(exempt: &[&str]) -> LimitSettings {
        let exempt: Vec<String> = exempt.iter().map(|&e| e.to_owned()).collect();
        LimitSettings {
            per_ip_per_sec: 1,
            per_ip_burst: 2,
            exempt: TrustedProxies::parse(&exempt).unwrap_or_default(),
            max_concurrency: 1,
        }
    }

    #[test]
    fn a_client_gets_its_burst_then_a_wait_and_exempt_clients_none() {
        let limits = ClientLimits::new(&settings(&["10.0.0.0/8"]));
        assert!(limits.admit(ip("192.0.2.1")).is_ok());
        assert!(limits.admit(ip("192.0.2.1")).is_ok());
        let Err(Error::RateLimited { scope, retry_after }) = limits.admit(ip("192.0.2.1")) else {
            panic!("the third request is over the burst");
        };
        assert_eq!(scope, LimitScope::Ip);
        assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1));
        assert!(
            limits.admit(ip("192.0.2.2")).is_ok(),
            "another client has its own bucket"
        );
        assert!((0..10).all(|_| limits.admit(ip("10.1.1.1")).is_ok()));
    }

    #[test]
    fn a_full_house_sheds_instead_of_waiting() {
        let limits = ClientLimits::new(&settings(&[]));
        let held = limits.slot("app");
        assert!(held.is_ok());
        assert!(matches!(limits.slot("app"), Err(Error::Shed)));
        drop(held);
        assert!(limits.slot("app").is_ok());
    }
}
