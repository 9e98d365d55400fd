//! sk-admin: the admin API and the sale scheduler.
//!
//! Serves: `/healthz`, `/readyz`, `/metrics`, and the `/admin/v1` API behind admin JWTs (see
//! [`api`] and [`tokens`]; its OpenAPI document, `GET /admin/v1/openapi.json`, needs none).
//! Runs: the scheduler (one leader among instances; see [`scheduler`]).
//! Talks to: MySQL (catalog and ledger; migrated at start-up, required for readiness) and
//! Redis (activity state is pushed there; required).

pub mod api;
pub mod auth;
pub mod blacklist;
pub mod catalog;
pub mod cli;
mod error;
mod metrics;
pub mod scheduler;
mod settings;
pub mod tokens;

use sk_common::http::service_router;
use sk_common::jwt::JwtKeys;
use sk_common::mysql::{MysqlPool, migrate_until_done};
use sk_common::readiness::{Gate, Readiness};
use sk_common::redis::RedisHandle;
use sk_common::shutdown::{CancellationToken, Tasks};
use sk_common::stock::Inventory;
use tokio::net::TcpListener;

pub use error::{Error, Result};
pub use settings::Settings;

/// Runs sk-admin on `listener` until `shutdown` fires, then drains within the grace period.
///
/// # Errors
/// When a dependency cannot be configured or a task fails.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    metrics::register();
    let keys = JwtKeys::new(&settings.jwt)?;
    if settings.jwt.uses_dev_secret() {
        tracing::warn!(
            "running with the development JWT secret from defaults.toml; set SK_JWT__SECRET"
        );
    }
    let mysql = MysqlPool::new(&settings.mysql)?;
    let redis = RedisHandle::new(&settings.redis)?;
    let catalog = catalog::Catalog::new(
        mysql.clone(),
        redis.connection(),
        Inventory::new(redis.key_prefix()),
        redis.key_prefix(),
    );
    let blacklist =
        blacklist::Blacklist::new(mysql.clone(), redis.connection(), redis.key_prefix());
    let scheduler = scheduler::Scheduler::new(
        catalog.clone(),
        blacklist.clone(),
        redis.clone(),
        settings.scheduler.clone(),
    );
    let leadership = scheduler.leadership();
    let (schema, schema_gate) = Gate::closed("migrations not applied yet");
    let readiness = Readiness::builder()
        .require("mysql", mysql.clone())
        .require("schema", schema)
        .require("redis", redis)
        .build(settings.http.readiness_timeout());
    let mut tasks = Tasks::new(shutdown.clone());
    tasks.spawn(
        "migrations",
        migrate_until_done(settings.mysql.clone(), mysql.clone(), schema_gate, shutdown),
    );
    tasks.spawn("scheduler", scheduler.run(tasks.token()));
    tasks.serve_http(
        listener,
        service_router(
            admin_routes(catalog, blacklist, leadership, keys),
            readiness,
            &settings.http,
        ),
        &settings.http,
    );
    let outcome = tasks.run(settings.http.shutdown_grace()).await;
    mysql.disconnect().await;
    Ok(outcome?)
}

/// Every `/admin/v1` route: all behind the admin-token check (added after them, so it covers
/// them all) but the OpenAPI document, merged after the check so it needs no token.
fn admin_routes(
    catalog: catalog::Catalog,
    blacklist: blacklist::Blacklist,
    leadership: scheduler::Leadership,
    keys: JwtKeys,
) -> axum::Router {
    let routes = api::routes(catalog, leadership)
        .merge(blacklist::routes(blacklist))
        .merge(tokens::routes(keys.clone()));
    auth::protect(routes, keys).merge(api::public_routes())
}
