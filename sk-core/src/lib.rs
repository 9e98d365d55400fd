//! sk-core: the authority on stock.
//!
//! Serves (internal, called by sk-app): `/healthz`, `/readyz`, `/metrics`; the reserve, pay,
//! cancel and order-status API arrives with the purchase pipeline.
//! Talks to: Redis (stock, orders, outbox streams; required for readiness) and Kafka (the
//! outbox relay's target; reported by `/readyz`, not required: the outbox buffers in Redis).

mod error;
mod settings;

use axum::Router;
use sk_common::http::service_router;
use sk_common::kafka::TopicProbe;
use sk_common::readiness::Readiness;
use sk_common::redis::RedisHandle;
use sk_common::shutdown::{CancellationToken, Tasks};
use tokio::net::TcpListener;

pub use error::{Error, Result};
pub use settings::Settings;

/// Runs sk-core on `listener` until `shutdown` fires, then drains within the grace period.
///
/// # Errors
/// When a dependency cannot be configured or a task fails.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    let redis = RedisHandle::new(&settings.redis)?;
    let topics = vec![
        settings.kafka.orders_topic.clone(),
        settings.kafka.dlq_topic.clone(),
    ];
    let readiness = Readiness::builder()
        .require("redis", redis)
        .observe("kafka", TopicProbe::new(&settings.kafka, topics)?)
        .build(settings.http.readiness_timeout());
    let mut tasks = Tasks::new(shutdown);
    tasks.serve_http(
        listener,
        service_router(Router::new(), readiness, &settings.http),
    );
    tasks.run(settings.http.shutdown_grace()).await?;
    Ok(())
}
