//! gateway: the only public entry of the flash-sale platform.
//!
//! Serves: `/healthz`, `/readyz`, `/metrics` (its own only; no other service's operational
//! routes are reachable through it), `/api/…` forwarded to the sk-app pool and `/admin/…` to
//! the sk-admin pool ([`proxy`]), everything else 404 JSON.
//! On the way: per-client and per-route rate limits, load shedding, body limit ([`limits`]),
//! request ids and trace context ([`ids`]), `X-Forwarded-For` from trusted proxies only,
//! smooth weighted round-robin over healthy instances with a breaker each ([`pool`]), and a
//! JSON access log ([`edge`]).
//! Talks to: the sk-app pool (required for readiness: without it no shopper can be served)
//! and the sk-admin pool (reported only: admin trouble must never take shoppers offline).

pub mod balance;
pub mod edge;
mod error;
pub mod ids;
pub mod limits;
mod metrics;
pub mod pool;
pub mod proxy;
mod settings;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::any;
use sk_common::http::service_router;
use sk_common::readiness::{Readiness, probe_client};
use sk_common::shutdown::{CancellationToken, Tasks};
use tokio::net::TcpListener;

pub use error::{Error, LimitScope, Result};
pub use settings::{
    HealthSettings, LimitSettings, MAX_WEIGHT, ProxySettings, RouteSettings, Routes, Settings,
    UpstreamSpec, Upstreams,
};

use crate::limits::ClientLimits;
use crate::pool::health::PoolReadiness;
use crate::pool::{Pool, discovery, health};
use crate::proxy::{Route, Shared, forward, upstream_client};

/// Runs the gateway on `listener` until `shutdown` fires, then drains within the grace period.
///
/// # Errors
/// When a task fails.
pub async fn run(
    settings: Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    let app = pool("app", &settings.upstreams.app, &settings);
    let admin = pool("admin", &settings.upstreams.admin, &settings);
    metrics::register(&[app.family(), admin.family()]);
    let limits = ClientLimits::new(&settings.limits);
    let shared = Arc::new(Shared {
        client: upstream_client(&settings.proxy),
        limits: limits.clone(),
        trusted: settings.proxy.trusted_proxies.clone(),
        body_limit: settings.http.body_limit_bytes,
        body_timeout: Duration::from_millis(settings.proxy.body_timeout_ms),
    });
    let ready_client = probe_client(settings.http.readiness_timeout());
    let readiness = Readiness::builder()
        .require(
            "sk-app",
            PoolReadiness::new(app.clone(), ready_client.clone()),
        )
        .observe("sk-admin", PoolReadiness::new(admin.clone(), ready_client))
        .build(settings.http.readiness_timeout());
    let routes = Router::new()
        .route(
            "/api/{*rest}",
            any(forward).with_state(Arc::new(Route::new(
                app.clone(),
                settings.routes.app.clone(),
                Arc::clone(&shared),
            ))),
        )
        .route(
            "/admin/{*rest}",
            any(forward).with_state(Arc::new(Route::new(
                admin.clone(),
                settings.routes.admin.clone(),
                shared,
            ))),
        );
    let router = service_router(routes, readiness, &settings.http).layer(
        axum::middleware::from_fn_with_state(
            edge::EdgeSettings {
                trusted: settings.proxy.trusted_proxies.clone(),
                max_header_bytes: settings.proxy.max_header_bytes,
            },
            edge::edge,
        ),
    );
    let mut tasks = Tasks::new(shutdown);
    watch_pools(&mut tasks, &settings, [app, admin]);
    tasks.spawn("rate-limit-trim", limits.keep_trimmed(tasks.token()));
    tasks.serve_http(listener, router, &settings.http);
    tasks.run(settings.http.shutdown_grace()).await?;
    Ok(())
}

fn pool(family: &'static str, specs: &[UpstreamSpec], settings: &Settings) -> Pool {
    Pool::new(
        family,
        specs.to_vec(),
        settings.breaker,
        settings.upstream_health.eject_after_failures,
    )
}

/// DNS re-resolution and active health probes of every pool.
fn watch_pools<const N: usize>(tasks: &mut Tasks, settings: &Settings, pools: [Pool; N]) {
    let health = &settings.upstream_health;
    let probes = probe_client(Duration::from_millis(health.probe_timeout_ms));
    let resolve_every = Duration::from_millis(health.resolve_interval_ms);
    let probe_every = Duration::from_millis(health.probe_interval_ms);
    for pool in pools {
        tasks.spawn(
            "upstream-dns",
            discovery::keep_resolved(pool.clone(), resolve_every, tasks.token()),
        );
        tasks.spawn(
            "upstream-probes",
            health::keep_probing(pool, probes.clone(), probe_every, tasks.token()),
        );
    }
}
