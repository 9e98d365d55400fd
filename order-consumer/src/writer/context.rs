//! The consumer's librdkafka callbacks: consumer lag from the client's own statistics (no
//! extra broker round trips), and a log line on every rebalance and failed commit.

use rdkafka::TopicPartitionList;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;

/// How often librdkafka reports statistics, and so how fresh the lag gauge is.
pub const STATISTICS_INTERVAL_MS: u32 = 5_000;

/// Callbacks of the ledger writer's consumer.
#[derive(Debug, Default)]
pub struct WriterContext;

impl ClientContext for WriterContext {
    fn stats(&self, statistics: Statistics) {
        // consumer_lag = high watermark − committed offset; -1 while either is unknown.
        // The sum covers this instance's partitions; Prometheus sums the instances.
        let lag: i64 = statistics
            .topics
            .values()
            .flat_map(|topic| topic.partitions.values())
            .filter(|p| p.partition >= 0 && p.fetch_state == "active" && p.consumer_lag >= 0)
            .map(|p| p.consumer_lag)
            .sum();
        #[allow(
            clippy::cast_precision_loss,
            reason = "a gauge; exact beyond 2^53 is moot"
        )]
        metrics::gauge!(crate::metrics::LAG).set(lag as f64);
    }
}

impl ConsumerContext for WriterContext {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                tracing::info!(partitions = partitions.count(), "partitions assigned");
            }
            Rebalance::Revoke(partitions) => {
                tracing::info!(partitions = partitions.count(), "partitions revoked");
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance failed"),
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        match result {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            // Harmless for correctness: the events are applied again after a restart or a
            // rebalance, and applying an event twice changes nothing.
            Err(e) => tracing::warn!(error = %e, "offset commit failed"),
        }
    }
}
