//! sk-core's settings; `defaults.toml` beside this crate documents every key.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sk_common::http::HttpSettings;
use sk_common::kafka::KafkaSettings;
use sk_common::redis::RedisSettings;
use sk_common::settings::{DEV_SECRET_PREFIX, ServiceSettings, SettingsError, in_range};
use sk_common::telemetry::LogSettings;

/// Everything sk-core can be told.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// HTTP listener and shutdown.
    pub http: HttpSettings,
    /// Logging.
    pub log: LogSettings,
    /// The Redis that holds stock, orders and the outbox streams.
    pub redis: RedisSettings,
    /// The Kafka the outbox relay produces to.
    pub kafka: KafkaSettings,
    /// Secrets for signed calls and purchase tokens.
    pub security: SecuritySettings,
    /// The outbox relay.
    pub relay: RelaySettings,
    /// The payment-deadline reaper.
    pub reaper: ReaperSettings,
}

/// Secrets for signed calls and purchase tokens.
#[derive(Debug, Clone, Deserialize)]
pub struct SecuritySettings {
    /// Shared with sk-app; signs every internal call.
    pub internal_secret: SecretString,
    /// Milliseconds a signed request's timestamp may differ from this clock (a served call's
    /// nonce is remembered for twice this long).
    pub request_max_skew_ms: u64,
    /// Signs purchase tokens.
    pub purchase_token_secret: SecretString,
}

/// The outbox relay.
#[derive(Debug, Clone, Deserialize)]
pub struct RelaySettings {
    /// Milliseconds an outbox lock lasts without renewal.
    pub lock_ttl_ms: u64,
    /// Most entries per produced batch.
    pub batch_max: usize,
    /// Milliseconds one blocking read waits.
    pub read_block_ms: u64,
    /// Milliseconds between looks for unowned outboxes.
    pub scan_interval_ms: u64,
    /// Milliseconds Kafka may take to acknowledge a batch.
    pub produce_timeout_ms: u64,
    /// Use Kafka's idempotent producer (on in production). Off, the relay keeps one request
    /// in flight per connection, so retries still cannot reorder an order's events.
    pub idempotent_producer: bool,
}

/// The payment-deadline reaper.
#[derive(Debug, Clone, Deserialize)]
pub struct ReaperSettings {
    /// Milliseconds between sweeps.
    pub interval_ms: u64,
    /// Most reservations expired per activity per sweep.
    pub batch_max: usize,
}

impl SecuritySettings {
    fn validate(&self) -> Result<(), SettingsError> {
        for (key, secret) in [
            ("security.internal_secret", &self.internal_secret),
            (
                "security.purchase_token_secret",
                &self.purchase_token_secret,
            ),
        ] {
            if secret.expose_secret().len() < 32 {
                return Err(SettingsError::invalid(
                    key,
                    "must be at least 32 characters",
                ));
            }
        }
        in_range(
            "security.request_max_skew_ms",
            self.request_max_skew_ms,
            100,
            300_000,
        )
    }

    /// Whether a development default secret is in use (worth a warning at start-up).
    #[must_use]
    pub fn uses_dev_secrets(&self) -> bool {
        [&self.internal_secret, &self.purchase_token_secret]
            .iter()
            .any(|s| s.expose_secret().starts_with(DEV_SECRET_PREFIX))
    }
}

impl RelaySettings {
    fn validate(&self) -> Result<(), SettingsError> {
        in_range("relay.lock_ttl_ms", self.lock_ttl_ms, 300, 600_000)?;
        in_range("relay.batch_max", self.batch_max as u64, 1, 10_000)?;
        in_range("relay.read_block_ms", self.read_block_ms, 10, 60_000)?;
        in_range("relay.scan_interval_ms", self.scan_interval_ms, 10, 600_000)?;
        in_range(
            "relay.produce_timeout_ms",
            self.produce_timeout_ms,
            100,
            600_000,
        )
    }

    /// How long an outbox lock lasts without renewal.
    #[must_use]
    pub const fn lock_ttl(&self) -> Duration {
        Duration::from_millis(self.lock_ttl_ms)
    }
}

impl ReaperSettings {
    fn validate(&self) -> Result<(), SettingsError> {
        in_range("reaper.interval_ms", self.interval_ms, 10, 600_000)?;
        in_range("reaper.batch_max", self.batch_max as u64, 1, 100_000)
    }
}

impl ServiceSettings for Settings {
    const DEFAULTS: &'static str = include_str!("../defaults.toml");

    fn http(&self) -> &HttpSettings {
        &self.http
    }

    fn log(&self) -> &LogSettings {
        &self.log
    }

    fn validate(&self) -> Result<(), SettingsError> {
        self.http.validate()?;
        self.redis.validate("redis")?;
        self.kafka.validate("kafka")?;
        self.security.validate()?;
        self.relay.validate()?;
        self.reaper.validate()
    }
}
