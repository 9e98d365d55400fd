//! order-consumer's settings; `defaults.toml` beside this crate documents every key.

use std::time::Duration;

use serde::Deserialize;
use sk_common::http::HttpSettings;
use sk_common::kafka::KafkaSettings;
use sk_common::mysql::MysqlSettings;
use sk_common::settings::{ServiceSettings, SettingsError, in_range};
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
    /// This instance's stable name in the group (Kafka static membership), or empty for a
    /// dynamic member.
    pub instance_id: String,
    /// Most events written to MySQL in one transaction.
    pub batch_max: usize,
    /// Milliseconds a batch waits for more events after its first one.
    pub batch_wait_ms: u64,
    /// Milliseconds before the first retry of a failed batch.
    pub retry_initial_ms: u64,
    /// Longest pause between retries, in milliseconds.
    pub retry_max_ms: u64,
    /// Milliseconds one batch's MySQL transaction may take before it is retried.
    pub apply_timeout_ms: u64,
}

/// Longest static member name accepted (Kafka allows 249 characters in such names).
const INSTANCE_ID_MAX: usize = 249;

/// Every ledger row binds 11 parameters and MySQL takes at most 65,535 per statement.
const BATCH_MAX_LIMIT: usize = 5_000;

impl ConsumerSettings {
    /// How long a batch waits for more events after its first one.
    #[must_use]
    pub fn batch_wait(&self) -> Duration {
        Duration::from_millis(self.batch_wait_ms)
    }

    /// The pause before the first retry.
    #[must_use]
    pub fn retry_initial(&self) -> Duration {
        Duration::from_millis(self.retry_initial_ms)
    }

    /// The longest pause between retries.
    #[must_use]
    pub fn retry_max(&self) -> Duration {
        Duration::from_millis(self.retry_max_ms)
    }

    /// How long one batch's transaction may take.
    #[must_use]
    pub fn apply_timeout(&self) -> Duration {
        Duration::from_millis(self.apply_timeout_ms)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        if self.group_id.trim().is_empty() {
            return Err(SettingsError::invalid(
                "consumer.group_id",
                "must not be empty",
            ));
        }
        if self.instance_id.len() > INSTANCE_ID_MAX
            || self
                .instance_id
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(SettingsError::invalid(
                "consumer.instance_id",
                format!("must be at most {INSTANCE_ID_MAX} characters, without spaces"),
            ));
        }
        if !(1..=BATCH_MAX_LIMIT).contains(&self.batch_max) {
            return Err(SettingsError::invalid(
                "consumer.batch_max",
                format!("must be between 1 and {BATCH_MAX_LIMIT}"),
            ));
        }
        in_range("consumer.batch_wait_ms", self.batch_wait_ms, 0, 10_000)?;
        in_range(
            "consumer.retry_initial_ms",
            self.retry_initial_ms,
            1,
            60_000,
        )?;
        in_range("consumer.retry_max_ms", self.retry_max_ms, 1, 300_000)?;
        if self.retry_max_ms < self.retry_initial_ms {
            return Err(SettingsError::invalid(
                "consumer.retry_max_ms",
                "must not be less than consumer.retry_initial_ms",
            ));
        }
        in_range(
            "consumer.apply_timeout_ms",
            self.apply_timeout_ms,
            100,
            600_000,
        )
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
        self.kafka.validate("kafka")?;
        self.consumer.validate()
    }
}

#[cfg(test)]
mod tests {
    use sk_common::settings::{EnvSource, load};

    use super::Settings;

    fn with_instance_id(id: &str) -> Result<Settings, sk_common::settings::SettingsError> {
        let vars = [("SK_CONSUMER__INSTANCE_ID".to_owned(), id.to_owned())];
        load::<Settings>(None, EnvSource::Vars(vars.into_iter().collect()))
    }

    #[test]
    fn a_static_member_name_is_optional_and_without_spaces() {
        assert_eq!(with_instance_id("").unwrap().consumer.instance_id, "");
        assert_eq!(
            with_instance_id("order-consumer-0")
                .unwrap()
                .consumer
                .instance_id,
            "order-consumer-0"
        );
        for bad in [
            "two words".to_owned(),
            "tab\there".to_owned(),
            "x".repeat(250),
        ] {
            let error = with_instance_id(&bad).unwrap_err().to_string();
            assert!(error.contains("consumer.instance_id"), "{bad:?}: {error}");
        }
    }
}
