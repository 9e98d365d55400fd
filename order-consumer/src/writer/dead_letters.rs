//! The dead-letter topic: where messages that can never be applied go, with why and from where,
//! so an operator can inspect, fix and replay them while the partition moves on.

use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use sk_common::kafka::KafkaSettings;
use sk_common::trace::TRACEPARENT;

use super::batch::Rejected;
use crate::Result;

/// Header with the reason the message was rejected (UTF-8 text).
pub const ERROR_HEADER: &str = "sk-dlq-error";
/// Header with the topic the message came from.
pub const SOURCE_TOPIC_HEADER: &str = "sk-dlq-source-topic";
/// Header with the partition the message came from (decimal).
pub const SOURCE_PARTITION_HEADER: &str = "sk-dlq-source-partition";
/// Header with the message's offset in that partition (decimal).
pub const SOURCE_OFFSET_HEADER: &str = "sk-dlq-source-offset";

/// Produces rejected messages to the dead-letter topic and waits for the broker's ack.
pub struct DeadLetters {
    producer: FutureProducer,
    topic: String,
    timeout: Duration,
}

impl std::fmt::Debug for DeadLetters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetters")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl DeadLetters {
    /// A producer for `settings.dlq_topic` (idempotent, acknowledged by all replicas).
    ///
    /// # Errors
    /// When the client configuration is rejected.
    pub fn new(settings: &KafkaSettings) -> Result<Self> {
        let timeout = Duration::from_millis(settings.request_timeout_ms.max(1_000));
        let producer = settings
            .client_config()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            // One attempt is bounded here; the writer retries the whole send with backoff.
            .set("message.timeout.ms", timeout.as_millis().to_string())
            .create()?;
        Ok(Self {
            producer,
            topic: settings.dlq_topic.clone(),
            timeout,
        })
    }

    /// Produces `rejected` (its original key and payload, plus headers saying why and from
    /// where, and its `traceparent`) and returns once the broker acknowledged it.
    ///
    /// # Errors
    /// When the broker does not acknowledge in time (transient: retry).
    pub async fn send(&self, source_topic: &str, rejected: &Rejected) -> Result<()> {
        let partition = rejected.partition.to_string();
        let offset = rejected.offset.to_string();
        let reason = rejected.reason.to_string();
        let mut headers = OwnedHeaders::new()
            .insert(header(ERROR_HEADER, &reason))
            .insert(header(SOURCE_TOPIC_HEADER, source_topic))
            .insert(header(SOURCE_PARTITION_HEADER, &partition))
            .insert(header(SOURCE_OFFSET_HEADER, &offset));
        // The trace the message came in, so a dead letter can be found from its trace.
        let trace = rejected.trace.map(|t| t.to_string());
        if let Some(trace) = &trace {
            headers = headers.insert(header(TRACEPARENT, trace));
        }
        let mut record: FutureRecord<'_, [u8], [u8]> =
            FutureRecord::to(&self.topic).headers(headers);
        if let Some(key) = &rejected.key {
            record = record.key(key);
        }
        if let Some(payload) = &rejected.payload {
            record = record.payload(payload);
        }
        self.producer
            .send(record, self.timeout)
            .await
            .map_err(|(e, _)| e)?;
        metrics::counter!(crate::metrics::DEAD_LETTERS).increment(1);
        Ok(())
    }
}

fn header<'a>(key: &'a str, value: &'a str) -> Header<'a, &'a str> {
    Header {
        key,
        value: Some(value),
    }
}
