//! sk-admin's settings; `defaults.toml` beside this crate documents every key.

use serde::Deserialize;
use sk_common::http::HttpSettings;
use sk_common::jwt::JwtSettings;
use sk_common::mysql::MysqlSettings;
use sk_common::redis::RedisSettings;
use sk_common::settings::{ServiceSettings, SettingsError, in_range};
use sk_common::telemetry::LogSettings;

/// Everything sk-admin can be told.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// HTTP listener and shutdown.
    pub http: HttpSettings,
    /// Logging.
    pub log: LogSettings,
    /// The MySQL that holds the catalog and the ledger.
    pub mysql: MysqlSettings,
    /// The Redis that activity state is pushed into.
    pub redis: RedisSettings,
    /// The scheduler that one elected instance runs.
    pub scheduler: SchedulerSettings,
    /// The keys that sign and verify admin and shopper tokens.
    pub jwt: JwtSettings,
}

/// The scheduler that one elected instance runs.
#[derive(Debug, Clone, Deserialize)]
pub struct SchedulerSettings {
    /// Milliseconds the leader lock lasts without renewal.
    pub lock_ttl_ms: u64,
    /// Milliseconds between rounds.
    pub interval_ms: u64,
}

impl SchedulerSettings {
    fn validate(&self) -> Result<(), SettingsError> {
        in_range("scheduler.lock_ttl_ms", self.lock_ttl_ms, 300, 600_000)?;
        in_range("scheduler.interval_ms", self.interval_ms, 10, 600_000)
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
        self.mysql.validate("mysql")?;
        self.redis.validate("redis")?;
        self.scheduler.validate()?;
        self.jwt.validate()
    }
}
