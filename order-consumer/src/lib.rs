//! order-consumer: writes the order ledger into MySQL from the Kafka order events.
//!
//! Serves: `/healthz`, `/readyz`, `/metrics` only. The consumer loop arrives with the purchase
//! pipeline; today the service migrates the schema and watches its dependencies.
//! Talks to: Kafka (the order topics must exist; required) and MySQL (migrated at start-up;
//! required).

mod error;
mod settings;

use axum::Router;
use sk_common::http::service_router;
use sk_common::kafka::TopicProbe;
use sk_common::mysql::{MysqlPool, migrate_until_done};
use sk_common::readiness::{Gate, Readiness};
use sk_common::shutdown::{CancellationToken, Tasks};
use tokio::net::TcpListener;

pub use error::{Error, Result};
pub use settings::{ConsumerSettings, Settings};

/// Runs order-consumer with its health listener on `listener` until `shutdown` fires.
///
/// # Errors
/// When a dependency cannot be configured or a task fails.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
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
    let mut tasks = Tasks::new(shutdown.clone());
    tasks.spawn(
        "migrations",
        migrate_until_done(settings.mysql.clone(), mysql.clone(), schema_gate, shutdown),
    );
    tasks.serve_http(
        listener,
        service_router(Router::new(), readiness, &settings.http),
    );
    let outcome = tasks.run(settings.http.shutdown_grace()).await;
    mysql.disconnect().await;
    Ok(outcome?)
}
