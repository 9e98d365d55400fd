//! order-consumer's settings; `defaults.toml` beside this crate documents every key.

use serde::Deserialize;
use sk_common::http::HttpSettings;
use sk_common::kafka::KafkaSettings;
use sk_common::mysql::MysqlSettings;
use sk_common::settings::{ServiceSettings, SettingsError};
use sk_common::telemetry::LogSettings;

/// Everything order-consumer can be told.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// HTTP listener (health and metrics only) and shutdown.
    pub http: HttpSettings,
    /// Logging.
    pub log: LogSettings,
    /// The MySQL that holds the ledger.
    pub mysql: MysqlSettings,
    /// The Kafka the order events come from.
    pub kafka: KafkaSettings,
    /// Consumer-group behaviour.
    pub consumer: ConsumerSettings,
}

/// How the ledger writers consume.
#[derive(Debug, Clone, Deserialize)]
pub struct ConsumerSettings {
    /// Kafka consumer group shared by every order-consumer instance.
    pub group_id: String,
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
        self.kafka.validate("kafka")?;
        if self.consumer.group_id.trim().is_empty() {
            return Err(SettingsError::invalid(
                "consumer.group_id",
                "must not be empty",
            ));
        }
        Ok(())
    }
}
