//! Assembling a service's router and serving it until the shutdown token fires.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;

use super::plain_errors::json_client_errors;
use super::{HttpError, HttpSettings, health_routes, install_metrics_recorder, observe, traced};
use crate::readiness::Readiness;

/// The service's own routes plus `/healthz`, `/readyz`, `/metrics`, JSON 404/405, a body
/// limit, JSON for extractor rejections, panic → opaque 500, request metrics, and a span per
/// request that continues the caller's trace.
pub fn service_router(api: Router, readiness: Readiness, http: &HttpSettings) -> Router {
    api.merge(health_routes(readiness, install_metrics_recorder()))
        .fallback(|| async { HttpError::no_route() })
        .method_not_allowed_fallback(|| async {
            HttpError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route",
            )
        })
        .layer(DefaultBodyLimit::max(http.body_limit_bytes))
        .layer(axum::middleware::from_fn(json_client_errors))
        .layer(CatchPanicLayer::custom(|_| {
            HttpError::internal("handler panicked").into_response()
        }))
        .layer(axum::middleware::from_fn(observe))
        .layer(axum::middleware::from_fn(traced))
}

/// Serves `router` on `listener` until `shutdown` fires, then lets in-flight requests finish.
/// Every request carries its TCP peer as `ConnectInfo<SocketAddr>`.
/// The caller bounds that wait (see [`crate::shutdown::Tasks`]).
///
/// # Errors
/// When accepting connections fails for good.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let upkeep = tokio::spawn(metrics_upkeep(shutdown.clone()));
    // Handlers may ask for the TCP peer (`ConnectInfo<SocketAddr>`): the client address when
    // the peer is not a trusted proxy.
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await;
    upkeep.abort();
    served
}

/// Drains histogram samples regularly so memory stays flat between scrapes.
async fn metrics_upkeep(shutdown: CancellationToken) {
    let handle = install_metrics_recorder();
    crate::shutdown::every(Duration::from_secs(5), shutdown, || handle.run_upkeep()).await;
}

impl crate::shutdown::Tasks {
    /// Adds the HTTP server as a task that stops with the set's shutdown token.
    pub fn serve_http(&mut self, listener: TcpListener, router: Router) {
        let shutdown = self.token();
        self.spawn("http", serve(listener, router, shutdown));
    }
}
