//! sk-core's settings; `defaults.toml` beside this crate documents every key.

use serde::Deserialize;
use sk_common::http::HttpSettings;
use sk_common::kafka::KafkaSettings;
use sk_common::redis::RedisSettings;
use sk_common::settings::{ServiceSettings, SettingsError};
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
        self.kafka.validate("kafka")
    }
}
