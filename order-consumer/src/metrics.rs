//! order-consumer's metrics (its rows of `METRICS.md`): names, help texts, and the series
//! that exist from start-up so their rates are defined before the first event.

use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};

/// Counter: order events read from Kafka into ledger batches.
pub const EVENTS: &str = "order_consumer_events_total";
/// Histogram: events per ledger batch.
pub const BATCH_SIZE: &str = "order_consumer_batch_size";
/// Histogram: time to apply one batch to MySQL.
pub const APPLY_DURATION: &str = "order_consumer_apply_duration_seconds";
/// Gauge: messages between the committed offsets and the high watermarks.
pub const LAG: &str = "order_consumer_lag_messages";
/// Counter by `stage`: transient failures retried.
pub const RETRIES: &str = "order_consumer_retries_total";
/// Counter: poison events sent to the DLQ topic.
pub const DEAD_LETTERS: &str = "order_consumer_dead_letters_total";

/// Every `stage` of [`RETRIES`]: consuming, dead-lettering, applying to MySQL.
const RETRY_STAGES: [&str; 3] = ["kafka", "dead_letter", "mysql"];

/// Describes order-consumer's metrics and registers its fixed series at zero.
pub fn register() {
    sk_common::http::install_metrics_recorder();
    describe_counter!(EVENTS, "Order events read from Kafka into ledger batches");
    describe_histogram!(BATCH_SIZE, "Events per ledger batch (one multi-row upsert)");
    describe_histogram!(
        APPLY_DURATION,
        "Time to apply one batch to MySQL in one transaction"
    );
    describe_gauge!(
        LAG,
        "Consumer lag: messages between the committed offsets and the high watermarks of this instance's partitions"
    );
    describe_counter!(RETRIES, "Transient failures retried, by stage");
    describe_counter!(DEAD_LETTERS, "Poison events sent to the DLQ topic");
    for stage in RETRY_STAGES {
        counter!(RETRIES, "stage" => stage).increment(0);
    }
    counter!(EVENTS).increment(0);
    counter!(DEAD_LETTERS).increment(0);
    // librdkafka's first statistics come one interval after the subscription.
    gauge!(LAG).set(0.0);
    // Registered, a histogram is rendered (empty) before its first sample.
    let _ = histogram!(BATCH_SIZE);
    let _ = histogram!(APPLY_DURATION);
}
