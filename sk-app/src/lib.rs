//! sk-app: the shopper API behind the gateway.
//!
//! Serves: `/healthz`, `/readyz`, `/metrics` and the authenticated `/api/v1` purchase and
//! order routes (see [`api`]).
//! Talks to: Redis (blacklists, activity state, change events; required for readiness) and
//! sk-core (purchases, over signed HTTP; reported by `/readyz`, not required: browsing works
//! without it).

pub mod api;
mod core_client;
mod error;
mod settings;

use sk_common::http::service_router;
use sk_common::jwt::JwtKeys;
use sk_common::readiness::{HttpProbe, Readiness, probe_client};
use sk_common::redis::RedisHandle;
use sk_common::shutdown::{CancellationToken, Tasks};
use tokio::net::TcpListener;

pub use core_client::{CoreClient, ReserveCall};
pub use error::{Error, Result};
pub use settings::{CoreSettings, SecuritySettings, Settings};

/// Runs sk-app on `listener` until `shutdown` fires, then drains within the grace period.
///
/// # Errors
/// When a dependency cannot be configured or a task fails.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    warn_about_dev_secrets(&settings);
    let redis = RedisHandle::new(&settings.redis)?;
    let api = api::Api {
        keys: JwtKeys::new(&settings.jwt)?,
        core: CoreClient::new(&settings.core, settings.security.internal_secret.clone())?,
        in_flight: api::InFlight::default(),
    };
    let core_health = format!("{}/healthz", settings.core.url.trim_end_matches('/'));
    let client = probe_client(settings.http.readiness_timeout());
    let readiness = Readiness::builder()
        .require("redis", redis)
        .observe("sk-core", HttpProbe::new(client, core_health))
        .build(settings.http.readiness_timeout());
    let mut tasks = Tasks::new(shutdown);
    tasks.serve_http(
        listener,
        service_router(api::routes(api), readiness, &settings.http),
    );
    tasks.run(settings.http.shutdown_grace()).await?;
    Ok(())
}

fn warn_about_dev_secrets(settings: &Settings) {
    if settings.security.uses_dev_secret() {
        tracing::warn!(
            "running with the development internal secret from defaults.toml; set SK_SECURITY__INTERNAL_SECRET"
        );
    }
    if settings.jwt.uses_dev_secret() {
        tracing::warn!(
            "running with the development JWT secret from defaults.toml; set SK_JWT__SECRET"
        );
    }
}
