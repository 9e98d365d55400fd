//! order-consumer: writes the order ledger into MySQL from the Kafka order events.
//!
//! Once the schema is migrated, the [`LedgerWriter`] consumes `[kafka] orders_topic` in the
//! consumer group `[consumer] group_id`, writes each batch of events as one MySQL transaction
//! (status only moves forward, so replays are no-ops), commits offsets only after that
//! transaction, dead-letters messages that can never be applied to `[kafka] dlq_topic`, and
//! retries MySQL or broker failures with capped backoff without losing anything.
//!
//! Serves: `/healthz`, `/readyz`, `/metrics` (`order_consumer_*`: events, batch sizes, apply
//! latency, dead letters, retries, lag).
//! Talks to: Kafka (the order and dead-letter topics must exist; required) and MySQL
//! (migrated at start-up; required).

mod error;
mod ledger;
mod metrics;
mod settings;
#[cfg(test)]
mod test_events;
mod writer;

use axum::Router;
use sk_common::http::service_router;
use sk_common::kafka::TopicProbe;
use sk_common::mysql::{MysqlPool, MysqlSettings, migrate_until_done};
use sk_common::readiness::{Gate, GateHandle, Readiness};
use sk_common::shutdown::{CancellationToken, Tasks};
use tokio::net::TcpListener;

pub use error::{Error, Result};
pub use settings::{ConsumerSettings, Settings};
pub use writer::{
    ERROR_HEADER, LedgerWriter, SOURCE_OFFSET_HEADER, SOURCE_PARTITION_HEADER, SOURCE_TOPIC_HEADER,
};

/// Runs order-consumer with its health listener on `listener` until `shutdown` fires.
///
/// # Errors
/// When a dependency cannot be configured or a task fails.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    metrics::register();
    let mysql = MysqlPool::new(&settings.mysql)?;
    let topics = vec![
        settings.kafka.orders_topic.clone(),
        settings.kafka.dlq_topic.clone(),
    ];
    let (schema, schema_gate) = Gate::closed("migrations not applied yet");
    let readiness = Readiness::builder()
        .require("kafka", TopicProbe::new(&settings.kafka, topics)?)
        .require("mysql", mysql.clone())
        .require("schema", schema)
        .build(settings.http.readiness_timeout());
    let writer = LedgerWriter::new(&settings.kafka, &settings.consumer, mysql.clone())?;
    let mut tasks = Tasks::new(shutdown.clone());
    tasks.spawn(
        "ledger",
        migrate_then_write(
            settings.mysql.clone(),
            mysql.clone(),
            schema_gate,
            writer,
            shutdown,
        ),
    );
    tasks.serve_http(
        listener,
        service_router(Router::new(), readiness, &settings.http),
        &settings.http,
    );
    let outcome = tasks.run(settings.http.shutdown_grace()).await;
    mysql.disconnect().await;
    Ok(outcome?)
}

/// The writer starts only once the schema is current, so it never retries against a
/// missing table.
async fn migrate_then_write(
    settings: MysqlSettings,
    mysql: MysqlPool,
    schema: GateHandle,
    writer: LedgerWriter,
    shutdown: CancellationToken,
) -> Result<()> {
    migrate_until_done(settings, mysql, schema, shutdown.clone()).await?;
    if shutdown.is_cancelled() {
        return Ok(());
    }
    writer.run(shutdown).await
}
