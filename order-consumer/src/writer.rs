//! The ledger writer: consumes the order topic in a consumer group and writes each batch of
//! events into MySQL as one transaction.
//!
//! Per batch: dead-letter the messages that can never be applied (and wait for the acks),
//! apply the rest in one transaction, and only then store and commit the offsets. A failure
//! of MySQL or the broker is retried on the same batch with capped exponential backoff, so
//! nothing is lost; since every write is keyed on the order id and status only moves forward,
//! whatever is applied twice (after a crash, a rebalance or a lost commit) changes nothing.
//!
//! Talks to: Kafka (order topic in, dead-letter topic out) and MySQL (`orders`).

mod batch;
mod context;
mod dead_letters;

use std::future::Future;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use sk_common::backoff::Backoff;
use sk_common::kafka::KafkaSettings;
use sk_common::mysql::MysqlPool;
use sk_common::shutdown::CancellationToken;
use tokio::time::Instant;

pub use dead_letters::{
    ERROR_HEADER, SOURCE_OFFSET_HEADER, SOURCE_PARTITION_HEADER, SOURCE_TOPIC_HEADER,
};

use self::batch::Batch;
use self::context::{STATISTICS_INTERVAL_MS, WriterContext};
use self::dead_letters::DeadLetters;
use crate::ledger::Ledger;
use crate::{ConsumerSettings, Result};

/// Consumes order events and keeps the MySQL ledger in step with them.
pub struct LedgerWriter {
    consumer: StreamConsumer<WriterContext>,
    ledger: Ledger,
    dead_letters: DeadLetters,
    topic: String,
    settings: ConsumerSettings,
}

impl std::fmt::Debug for LedgerWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerWriter")
            .field("topic", &self.topic)
            .field("group_id", &self.settings.group_id)
            .finish_non_exhaustive()
    }
}

impl LedgerWriter {
    /// Prepares the consumer and the dead-letter producer; connects lazily.
    ///
    /// # Errors
    /// When a Kafka client configuration is rejected.
    pub fn new(
        kafka: &KafkaSettings,
        settings: &ConsumerSettings,
        pool: MysqlPool,
    ) -> Result<Self> {
        let mut config = kafka.client_config();
        config.set("group.id", &settings.group_id);
        if !settings.instance_id.is_empty() {
            // A restarted instance rejoins as itself: no rebalance, no partition waiting for
            // its dead predecessor's session to expire.
            config.set("group.instance.id", &settings.instance_id);
        }
        let consumer = config
            // Offsets are stored by hand once a batch is in MySQL, and committed after that.
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            // A new group must start at the oldest event, not skip what came before it.
            .set("auto.offset.reset", "earliest")
            .set("statistics.interval.ms", STATISTICS_INTERVAL_MS.to_string())
            .create_with_context(WriterContext)?;
        Ok(Self {
            consumer,
            ledger: Ledger::new(pool, settings.batch_max, settings.apply_timeout()),
            dead_letters: DeadLetters::new(kafka)?,
            topic: kafka.orders_topic.clone(),
            settings: settings.clone(),
        })
    }

    /// Consumes until `shutdown`, then commits what was applied, synchronously.
    ///
    /// # Errors
    /// Only when the subscription itself is refused; every other failure is retried.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        self.consumer.subscribe(&[&self.topic])?;
        tracing::info!(topic = %self.topic, group = %self.settings.group_id, "consuming");
        while let Some(batch) = self.next_batch(&shutdown).await {
            if !self.settle(&batch, &shutdown).await {
                break;
            }
            self.store_offsets(&batch);
            self.commit(CommitMode::Async);
        }
        self.commit(CommitMode::Sync);
        tracing::info!("ledger writer stopped");
        Ok(())
    }

    /// Waits for one message (or `shutdown`: `None`), then takes more until the batch is full
    /// or `batch_wait` has passed since the first.
    async fn next_batch(&self, shutdown: &CancellationToken) -> Option<Batch> {
        let mut batch = Batch::default();
        let mut backoff = self.backoff();
        loop {
            let received = tokio::select! {
                () = shutdown.cancelled() => return None,
                received = self.consumer.recv() => received,
            };
            match received {
                Ok(message) => {
                    batch.push(&message);
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot consume; retrying");
                    retried("kafka");
                    if !backoff.wait(shutdown).await {
                        return None;
                    }
                }
            }
        }
        let deadline = Instant::now() + self.settings.batch_wait();
        while batch.len() < self.settings.batch_max {
            match tokio::time::timeout_at(deadline, self.consumer.recv()).await {
                Ok(Ok(message)) => batch.push(&message),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cannot consume; writing the batch so far");
                    break;
                }
                Err(_) => break,
            }
        }
        metrics::counter!(crate::metrics::EVENTS).increment(batch.len() as u64);
        #[allow(clippy::cast_precision_loss, reason = "batch_max is at most 5000")]
        metrics::histogram!(crate::metrics::BATCH_SIZE).record(batch.len() as f64);
        Some(batch)
    }

    /// Dead-letters the rejected messages and applies the rows, retrying each until it is
    /// done; `false` when `shutdown` came first (the batch's offsets must then not be stored).
    ///
    /// Dead letters go first and are at-least-once: when the apply never succeeds before a
    /// restart, the batch is consumed again and its dead letters are sent again.
    async fn settle(&self, batch: &Batch, shutdown: &CancellationToken) -> bool {
        for rejected in batch.rejected() {
            tracing::warn!(
                partition = rejected.partition,
                offset = rejected.offset,
                reason = %rejected.reason,
                "dead-lettering a message that cannot be applied"
            );
            let sent = self.until_done("dead_letter", shutdown, || {
                self.dead_letters.send(&self.topic, rejected)
            });
            if !sent.await {
                return false;
            }
        }
        let started = Instant::now();
        let applied = self
            .until_done("mysql", shutdown, || self.ledger.apply(batch.rows()))
            .await;
        tracing::debug!(
            events = batch.len(),
            rows = batch.rows().len(),
            took_ms = started.elapsed().as_millis(),
            "batch settled"
        );
        if applied {
            batch.log_applied();
        }
        applied
    }

    /// Runs `attempt` until it succeeds, pausing with capped exponential backoff between
    /// failures; `false` when `shutdown` fires during a pause.
    async fn until_done<F, Fut>(
        &self,
        stage: &'static str,
        shutdown: &CancellationToken,
        mut attempt: F,
    ) -> bool
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let mut backoff = self.backoff();
        loop {
            match attempt().await {
                Ok(()) => return true,
                Err(e) => {
                    tracing::warn!(stage, error = %e, retry_in_ms = backoff.next_ms(), "batch not settled; retrying");
                    retried(stage);
                    if !backoff.wait(shutdown).await {
                        return false;
                    }
                }
            }
        }
    }

    /// Marks every message of the settled batch as done, partition by partition.
    fn store_offsets(&self, batch: &Batch) {
        for (partition, offset) in batch.highest_offsets() {
            // librdkafka stores offset + 1, the next one to read. A partition revoked in
            // a rebalance meanwhile is refused: its new owner re-applies, which is harmless.
            if let Err(e) = self.consumer.store_offset(&self.topic, partition, offset) {
                tracing::debug!(partition, offset, error = %e, "offset not stored");
            }
        }
    }

    fn commit(&self, mode: CommitMode) {
        match self.consumer.commit_consumer_state(mode) {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => tracing::warn!(error = %e, ?mode, "offset commit failed"),
        }
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(self.settings.retry_initial(), self.settings.retry_max())
    }
}

fn retried(stage: &'static str) {
    metrics::counter!(crate::metrics::RETRIES, "stage" => stage).increment(1);
}
