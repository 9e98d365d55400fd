//! Settings of the browse routes (activity list and detail, the caller's orders).

use std::time::Duration;

use serde::Deserialize;
use sk_common::settings::{SettingsError, in_range};

/// How long browse answers are reused before MySQL or Redis is asked again.
#[derive(Debug, Clone, Deserialize)]
pub struct BrowseSettings {
    /// Milliseconds a catalog answer (one activity, one page of the list) is reused.
    pub cache_ms: u64,
    /// Milliseconds the `remaining` stock read from Redis is reused (0: read on every request).
    pub remaining_cache_ms: u64,
}

impl BrowseSettings {
    /// How long catalog rows are reused.
    #[must_use]
    pub const fn cache(&self) -> Duration {
        Duration::from_millis(self.cache_ms)
    }

    /// How long `remaining` is reused.
    #[must_use]
    pub const fn remaining_cache(&self) -> Duration {
        Duration::from_millis(self.remaining_cache_ms)
    }

    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        in_range("browse.cache_ms", self.cache_ms, 0, 60_000)?;
        in_range(
            "browse.remaining_cache_ms",
            self.remaining_cache_ms,
            0,
            10_000,
        )
    }
}
