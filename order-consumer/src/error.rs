use std::time::Duration;

use sk_common::shutdown::TaskFailed;

/// Everything that can stop order-consumer or make one attempt at a batch fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] sk_common::Error),
    #[error(transparent)]
    Task(#[from] TaskFailed),
    #[error("mysql error: {0}")]
    Mysql(#[from] mysql_async::Error),
    #[error("kafka error: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, &'static str),
}

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
