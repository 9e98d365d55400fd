//! sk-app's settings; `defaults.toml` beside this crate documents every key.

use reqwest::Url;
use serde::Deserialize;
use sk_common::http::HttpSettings;
use sk_common::redis::RedisSettings;
use sk_common::settings::{ServiceSettings, SettingsError};
use sk_common::telemetry::LogSettings;

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
}

/// How sk-app reaches sk-core.
#[derive(Debug, Clone, Deserialize)]
pub struct CoreSettings {
    /// Base URL of sk-core, e.g. `http://127.0.0.1:8082`.
    pub url: String,
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
        match Url::parse(&self.core.url) {
            Ok(url) if url.scheme() == "http" && url.host_str().is_some() => Ok(()),
            Ok(_) => Err(SettingsError::invalid(
                "core.url",
                "expected http://host:port",
            )),
            Err(e) => Err(SettingsError::invalid("core.url", e)),
        }
    }
}
