//! sk-app's settings; `defaults.toml` beside this crate documents every key.

mod admission;
mod browse;

use std::time::Duration;

pub use admission::{CacheSettings, EdgeSettings, LimitsSettings};
pub use browse::BrowseSettings;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sk_common::breaker::BreakerSettings;
use sk_common::http::HttpSettings;
use sk_common::jwt::JwtSettings;
use sk_common::mysql::MysqlSettings;
use sk_common::redis::RedisSettings;
use sk_common::settings::{DEV_SECRET_PREFIX, ServiceSettings, SettingsError, in_range};
use sk_common::telemetry::LogSettings;

/// Shortest internal secret accepted, in bytes (sk-core refuses shorter ones too).
const MIN_SECRET_LEN: usize = 32;

/// Everything sk-app can be told.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// HTTP listener and shutdown.
    pub http: HttpSettings,
    /// Logging.
    pub log: LogSettings,
    /// The Redis that carries blacklists, activity state and change events.
    pub redis: RedisSettings,
    /// How to reach sk-core.
    pub core: CoreSettings,
    /// The secret that signs calls to sk-core.
    pub security: SecuritySettings,
    /// The keys that verify shopper and admin tokens (the same as sk-admin's).
    pub jwt: JwtSettings,
    /// Which peers' `X-Forwarded-For` is believed.
    pub edge: EdgeSettings,
    /// Freshness of the in-memory blacklists and activity cache.
    pub cache: CacheSettings,
    /// Per-user purchase rate limit.
    pub limits: LimitsSettings,
    /// The catalog and ledger database, read only (sk-admin owns and migrates it).
    pub mysql: MysqlSettings,
    /// How long browse answers are reused.
    pub browse: BrowseSettings,
}

/// How sk-app reaches sk-core.
#[derive(Debug, Clone, Deserialize)]
pub struct CoreSettings {
    /// Base URL of sk-core, e.g. `http://127.0.0.1:8082`.
    pub url: String,
    /// Milliseconds one call to sk-core may take, connecting included.
    pub timeout_ms: u64,
    /// The circuit breaker around every call to sk-core.
    pub breaker: BreakerSettings,
}

impl CoreSettings {
    /// How long one call to sk-core may take.
    #[must_use]
    pub const fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        in_range("core.timeout_ms", self.timeout_ms, 10, 60_000)?;
        self.breaker.validate("core.breaker")?;
        match Url::parse(&self.url) {
            Ok(url) if url.scheme() == "http" && url.host_str().is_some() => Ok(()),
            Ok(_) => Err(SettingsError::invalid(
                "core.url",
                "expected http://host:port",
            )),
            Err(e) => Err(SettingsError::invalid("core.url", e)),
        }
    }
}

/// The secret shared with sk-core.
#[derive(Debug, Clone, Deserialize)]
pub struct SecuritySettings {
    /// Signs every call to sk-core; must equal sk-core's `security.internal_secret`. Secret.
    pub internal_secret: SecretString,
}

impl SecuritySettings {
    fn validate(&self) -> Result<(), SettingsError> {
        if self.internal_secret.expose_secret().len() < MIN_SECRET_LEN {
            return Err(SettingsError::invalid(
                "security.internal_secret",
                format!("must be at least {MIN_SECRET_LEN} characters"),
            ));
        }
        Ok(())
    }

    /// Whether the development secret of `defaults.toml` is in use (worth a warning).
    #[must_use]
    pub fn uses_dev_secret(&self) -> bool {
        self.internal_secret
            .expose_secret()
            .starts_with(DEV_SECRET_PREFIX)
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
        self.core.validate()?;
        self.security.validate()?;
        self.cache.validate()?;
        self.limits.validate()?;
        self.mysql.validate("mysql")?;
        self.browse.validate()?;
        self.jwt.validate()
    }
}
