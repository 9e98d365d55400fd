//! sk-admin: the admin API and the sale scheduler.
//!
//! Serves: `/healthz`, `/readyz`, `/metrics`; the `/admin/v1` routes arrive with the admin issue.
//! Talks to: MySQL (catalog and ledger; migrated at start-up, required for readiness) and
//! Redis (activity state is pushed there; required).

mod error;
mod settings;

use axum::Router;
use sk_common::http::service_router;
use sk_common::mysql::{MysqlPool, migrate_until_done};
use sk_common::readiness::{Gate, Readiness};
use sk_common::redis::RedisHandle;
use sk_common::shutdown::{CancellationToken, Tasks};
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
    let mysql = MysqlPool::new(&settings.mysql)?;
    let redis = RedisHandle::new(&settings.redis)?;
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
    tasks.serve_http(
        listener,
        service_router(Router::new(), readiness, &settings.http),
    );
    let outcome = tasks.run(settings.http.shutdown_grace()).await;
    mysql.disconnect().await;
    Ok(outcome?)
}
