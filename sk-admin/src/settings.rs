//! sk-admin's settings; `defaults.toml` beside this crate documents every key.

use serde::Deserialize;
use sk_common::http::HttpSettings;
use sk_common::mysql::MysqlSettings;
use sk_common::redis::RedisSettings;
use sk_common::settings::{ServiceSettings, SettingsError};
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
        self.redis.validate("redis")
    }
}
