//! gateway: the only public entry of the flash-sale platform.
//!
//! Serves: `/healthz`, `/readyz`, `/metrics` (its own only). Routing of `/api` to sk-app and
//! `/admin` to sk-admin, with load balancing, rate limits and breakers, arrives with the edge.
//! Talks to: the sk-app pool (required for readiness: without it no shopper can be served)
//! and the sk-admin pool (reported only: admin trouble must never take shoppers offline).

mod error;
mod settings;

use axum::Router;
use sk_common::http::service_router;
use sk_common::readiness::{AnyOf, HttpProbe, Readiness, probe_client};
use sk_common::shutdown::{CancellationToken, Tasks};
use tokio::net::TcpListener;

pub use error::{Error, Result};
pub use settings::{Settings, Upstreams};

/// Runs the gateway on `listener` until `shutdown` fires, then drains within the grace period.
///
/// # Errors
/// When a task fails.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    let client = probe_client(settings.http.readiness_timeout());
    let pool = |urls: &[String]| {
        AnyOf(
            urls.iter()
                .map(|base| HttpProbe::new(client.clone(), health_url(base)))
                .collect(),
        )
    };
    let readiness = Readiness::builder()
        .require("sk-app", pool(&settings.upstreams.app))
        .observe("sk-admin", pool(&settings.upstreams.admin))
        .build(settings.http.readiness_timeout());
    let mut tasks = Tasks::new(shutdown);
    tasks.serve_http(
        listener,
        service_router(Router::new(), readiness, &settings.http),
    );
    tasks.run(settings.http.shutdown_grace()).await?;
    Ok(())
}

fn health_url(base: &str) -> String {
    format!("{}/healthz", base.trim_end_matches('/'))
}
