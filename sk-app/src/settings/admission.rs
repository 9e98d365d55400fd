//! Settings of the cheap checks in front of sk-core: who the client is, how fresh the
//! in-memory state is, and how fast one user may try.

use std::num::NonZeroU32;
use std::time::Duration;

use serde::Deserialize;
use sk_common::forwarded::TrustedProxies;
use sk_common::settings::{SettingsError, in_range};

/// Where requests come from.
#[derive(Debug, Clone, Deserialize)]
pub struct EdgeSettings {
    /// Proxies (the gateway) whose `X-Forwarded-For` names the client; anyone else's is
    /// ignored and the TCP peer is the client.
    pub trusted_proxies: TrustedProxies,
}

/// The in-memory blacklists and activity cache.
#[derive(Debug, Clone, Deserialize)]
pub struct CacheSettings {
    /// Milliseconds between full reloads from Redis (events apply at once; this is the net).
    pub refresh_ms: u64,
    /// Milliseconds an activity id Redis does not know is remembered as unknown.
    pub negative_ttl_ms: u64,
}

impl CacheSettings {
    /// Time between full reloads.
    #[must_use]
    pub const fn refresh(&self) -> Duration {
        Duration::from_millis(self.refresh_ms)
    }

    /// How long "no such activity" is believed.
    #[must_use]
    pub const fn negative_ttl(&self) -> Duration {
        Duration::from_millis(self.negative_ttl_ms)
    }

    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        in_range("cache.refresh_ms", self.refresh_ms, 100, 600_000)?;
        in_range("cache.negative_ttl_ms", self.negative_ttl_ms, 0, 60_000)
    }
}

/// Per-user purchase rate limit (each sk-app instance counts on its own).
#[derive(Debug, Clone, Deserialize)]
pub struct LimitsSettings {
    /// Purchase attempts per second one user may make.
    pub user_per_sec: NonZeroU32,
    /// Attempts one user may make at once above that rate.
    pub user_burst: NonZeroU32,
}

impl LimitsSettings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        in_range(
            "limits.user_per_sec",
            self.user_per_sec.get().into(),
            1,
            1_000_000,
        )?;
        in_range(
            "limits.user_burst",
            self.user_burst.get().into(),
            1,
            1_000_000,
        )
    }
}
