//! sk-app: the shopper API behind the gateway.
//!
//! Serves: `/healthz`, `/readyz`, `/metrics` and the authenticated `/api/v1` purchase and
//! order routes (see [`api`]); purchases pass the cheap checks of [`admission`] first.
//! Runs: the state sync (see [`state_sync`]), which keeps the in-memory blacklists and
//! activity cache in step with Redis pub/sub; and the eviction of idle rate-limit buckets.
//! Talks to: Redis (blacklists, activity state, change events; required for readiness, and
//! so is the first full load of that state) and sk-core (purchases, over signed HTTP behind a
//! circuit breaker; reported by `/readyz`, not required: browsing works without it) and MySQL
//! (the activity list and detail and the caller's orders, see [`browse`]; reported by
//! `/readyz`, not required: purchases work without it; sk-app never migrates it).

pub mod admission;
pub mod api;
pub mod browse;
mod core_client;
mod error;
mod metrics;
mod settings;
pub mod state_sync;

use sk_common::http::service_router;
use sk_common::jwt::JwtKeys;
use sk_common::mysql::MysqlPool;
use sk_common::readiness::{Gate, HttpProbe, Readiness, probe_client};
use sk_common::redis::RedisHandle;
use sk_common::shutdown::{CancellationToken, Tasks};
use sk_common::stock::Inventory;
use tokio::net::TcpListener;

pub use core_client::{CoreClient, ReserveCall};
pub use error::{Error, Result};
pub use settings::{
    CacheSettings, CoreSettings, EdgeSettings, LimitsSettings, SecuritySettings, Settings,
};

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
    metrics::register();
    let redis = RedisHandle::new(&settings.redis)?;
    let mysql = MysqlPool::new(&settings.mysql)?;
    let api = api::Api::new(api::ApiParts {
        keys: JwtKeys::new(&settings.jwt)?,
        core: CoreClient::new(&settings.core, settings.security.internal_secret.clone())?,
        admission: admission::Admission::new(&settings, &redis),
        browse: browse::Browse::new(
            mysql.clone(),
            redis.connection(),
            Inventory::new(redis.key_prefix()),
            &settings.browse,
        ),
    });
    let (loaded, loaded_handle) = Gate::closed("blacklists and activities not loaded yet");
    let sync = state_sync::StateSync::new(&settings, redis.clone(), &api.admission, loaded_handle);
    let user_limit = api.admission.user_limit.clone();
    let core_breaker = api.core.breaker();
    let core_health = format!("{}/healthz", settings.core.url.trim_end_matches('/'));
    let client = probe_client(settings.http.readiness_timeout());
    let readiness = Readiness::builder()
        .require("redis", redis)
        .observe("mysql", mysql.clone())
        .require("state", loaded)
        .observe("sk-core", HttpProbe::new(client, core_health))
        .build(settings.http.readiness_timeout());
    let mut tasks = Tasks::new(shutdown);
    tasks.spawn("state-sync", sync.run(tasks.token()));
    tasks.spawn("rate-limit-eviction", user_limit.evict_idle(tasks.token()));
    tasks.spawn(
        "breaker-gauge",
        metrics::mirror_breaker(core_breaker, tasks.token()),
    );
    tasks.serve_http(
        listener,
        service_router(api::routes(api), readiness, &settings.http),
        &settings.http,
    );
    let outcome = tasks.run(settings.http.shutdown_grace()).await;
    mysql.disconnect().await;
    Ok(outcome?)
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
