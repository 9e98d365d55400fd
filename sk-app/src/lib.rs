//! sk-app: the shopper API behind the gateway.
//!
//! Serves: `/healthz`, `/readyz`, `/metrics`; the `/api/v1` shopper routes arrive with the edge.
//! Talks to: Redis (blacklists, activity state, change events; required for readiness) and
//! sk-core (purchases; reported by `/readyz`, not required: browsing works without it).

mod error;
mod settings;

use axum::Router;
use sk_common::http::service_router;
use sk_common::readiness::{HttpProbe, Readiness, probe_client};
use sk_common::redis::RedisHandle;
use sk_common::shutdown::{CancellationToken, Tasks};
use tokio::net::TcpListener;

pub use error::{Error, Result};
pub use settings::{CoreSettings, Settings};

/// Runs sk-app on `listener` until `shutdown` fires, then drains within the grace period.
///
/// # Errors
/// When a dependency cannot be configured or a task fails.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    let redis = RedisHandle::new(&settings.redis)?;
    let core_health = format!("{}/healthz", settings.core.url.trim_end_matches('/'));
    let client = probe_client(settings.http.readiness_timeout());
    let readiness = Readiness::builder()
        .require("redis", redis)
        .observe("sk-core", HttpProbe::new(client, core_health))
        .build(settings.http.readiness_timeout());
    let mut tasks = Tasks::new(shutdown);
    tasks.serve_http(
        listener,
        service_router(Router::new(), readiness, &settings.http),
    );
    tasks.run(settings.http.shutdown_grace()).await?;
    Ok(())
}
