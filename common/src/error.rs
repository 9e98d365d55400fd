use std::io;

use crate::settings::SettingsError;

/// Everything that can fail inside `sk-common`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("telemetry setup failed: {0}")]
    Telemetry(String),
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
    #[error("redis error: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("mysql error: {0}")]
    Mysql(#[from] mysql_async::Error),
    #[error("kafka error: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error(
        "migration {version} ({name}) was changed after it was applied: checksum {applied} in the database, {embedded} in this build"
    )]
    MigrationChanged {
        version: u32,
        name: &'static str,
        applied: String,
        embedded: String,
    },
    #[error("unexpected answer from redis: {0}")]
    UnexpectedAnswer(String),
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(std::time::Duration, &'static str),
}

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
