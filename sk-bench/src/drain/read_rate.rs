//! How fast the broker hands the same backlog to a bare consumer that writes nothing: the
//! most any consumer could drain on this machine, whatever MySQL does.

use std::time::{Duration, Instant};

use rdkafka::consumer::{Consumer, StreamConsumer};
use sk_common::kafka::KafkaSettings;

use crate::{Error, Result};

/// Reads `expected` messages from the start of the order topic in a fresh group; returns the
/// time from the first message to the last.
///
/// # Errors
/// When the broker refuses or the messages do not all arrive within `timeout`.
pub async fn read_all(
    kafka: &KafkaSettings,
    expected: usize,
    timeout: Duration,
) -> Result<Duration> {
    let consumer: StreamConsumer = kafka
        .client_config()
        .set("group.id", super::fixture::unique("sk-bench-read"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    consumer.subscribe(&[&kafka.orders_topic])?;
    let deadline = Instant::now() + timeout;
    let mut first = None;
    for read in 0..expected {
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::timeout(left, consumer.recv())
            .await
            .map_err(|_| Error::Failed(format!("only {read} of {expected} messages read")))??;
        first.get_or_insert_with(Instant::now);
    }
    Ok(first.map_or(Duration::ZERO, |at| at.elapsed()))
}
