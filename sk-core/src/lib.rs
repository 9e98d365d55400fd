//! sk-core: the authority on stock.
//!
//! Serves (internal, called by sk-app; every call HMAC-signed, and served once): reserve, pay,
//! cancel and order status (see [`api`]), plus `/healthz`, `/readyz`, `/metrics`.
//! Runs: the outbox relay (Redis streams → Kafka `sk.orders`, one owner per activity) and the
//! payment-deadline reaper.
//! Talks to: Redis (stock, orders, outbox streams, the nonces of served calls; required for
//! readiness) and Kafka (the relay's target; reported by `/readyz`, not required: the outbox
//! buffers in Redis).

pub mod api;
mod error;
mod metrics;
pub mod reaper;
pub mod relay;
mod settings;

use sk_common::http::service_router;
use sk_common::kafka::TopicProbe;
use sk_common::purchase_token::PurchaseTokens;
use sk_common::readiness::Readiness;
use sk_common::redis::RedisHandle;
use sk_common::shutdown::{CancellationToken, Tasks};
use sk_common::signing::RequestSigner;
use sk_common::stock::Inventory;
use tokio::net::TcpListener;

pub use error::{Error, Result};
pub use settings::{ReaperSettings, RelaySettings, SecuritySettings, Settings};

use crate::api::{Api, ReplayGuard, Verifier};
use crate::reaper::DeadlineReaper;
use crate::relay::OutboxRelay;

/// Runs sk-core on `listener` until `shutdown` fires, then drains within the grace period.
///
/// # Errors
/// When a dependency cannot be configured or a task fails.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    if settings.security.uses_dev_secrets() {
        tracing::warn!(
            "running with the development secrets from defaults.toml; set SK_SECURITY__INTERNAL_SECRET and SK_SECURITY__PURCHASE_TOKEN_SECRET"
        );
    }
    metrics::register();
    let redis = RedisHandle::new(&settings.redis)?;
    let inventory = Inventory::new(redis.key_prefix());
    let topics = vec![
        settings.kafka.orders_topic.clone(),
        settings.kafka.dlq_topic.clone(),
    ];
    let readiness = Readiness::builder()
        .require("redis", redis.clone())
        .observe("kafka", TopicProbe::new(&settings.kafka, topics)?)
        .build(settings.http.readiness_timeout());
    let relay = OutboxRelay::new(
        inventory.clone(),
        redis.clone(),
        &settings.kafka,
        settings.relay.clone(),
    )?;
    let reaper = DeadlineReaper::new(inventory.clone(), redis.clone(), settings.reaper.clone());
    let replays = ReplayGuard::new(
        redis.connection(),
        inventory.clone(),
        settings.security.request_max_skew_ms,
    );
    let api = api::routes(
        Api {
            inventory,
            redis: redis.connection(),
            tokens: PurchaseTokens::new(settings.security.purchase_token_secret.clone()),
        },
        Verifier::new(
            RequestSigner::new(settings.security.internal_secret.clone()),
            settings.security.request_max_skew_ms,
            settings.http.body_limit_bytes,
            replays,
        ),
    );
    let mut tasks = Tasks::new(shutdown);
    tasks.spawn("outbox relay", relay.run(tasks.token()));
    tasks.spawn("deadline reaper", reaper.run(tasks.token()));
    tasks.serve_http(
        listener,
        service_router(api, readiness, &settings.http),
        &settings.http,
    );
    tasks.run(settings.http.shutdown_grace()).await?;
    Ok(())
}
