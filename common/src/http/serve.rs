//! Assembling a service's router and serving it until the shutdown token fires.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::{Service as _, ServiceExt as _};
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

/// Serves `router` on `listener` (HTTP/1.1) until `shutdown` fires, then lets in-flight
/// requests finish. Every request carries its TCP peer as `ConnectInfo<SocketAddr>`. A client
/// that takes longer than `header_read_timeout` to send a request's line and headers is
/// disconnected, so slow clients (slowloris) cannot pile up connections. The caller bounds the
/// wait for in-flight requests (see [`crate::shutdown::Tasks`]).
///
/// Not `axum::serve`: it sets no timer on hyper's connections, so hyper's header read
/// timeout never fires.
///
/// # Errors
/// Never at present: failed accepts (a full file table, a connection reset before it was
/// accepted) are logged and retried.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    header_read_timeout: Duration,
) -> io::Result<()> {
    let upkeep = tokio::spawn(metrics_upkeep(shutdown.clone()));
    // Handlers may ask for the TCP peer (`ConnectInfo<SocketAddr>`): the client address when
    // the peer is not a trusted proxy.
    let mut connected = router.into_make_service_with_connect_info::<SocketAddr>();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot accept a connection; retrying");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let service = match connected.call(peer).await {
            Ok(service) => service,
            Err(never) => match never {},
        };
        let service = service.map_request(|request: Request<Incoming>| request.map(Body::new));
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    upkeep.abort();
    Ok(())
}

/// Pause after a failed accept (typically out of file descriptors) before the next one.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// Drains histogram samples regularly so memory stays flat between scrapes.
async fn metrics_upkeep(shutdown: CancellationToken) {
    let handle = install_metrics_recorder();
    crate::shutdown::every(Duration::from_secs(5), shutdown, || handle.run_upkeep()).await;
}

impl crate::shutdown::Tasks {
    /// Adds the HTTP server as a task that stops with the set's shutdown token.
    pub fn serve_http(&mut self, listener: TcpListener, router: Router, http: &HttpSettings) {
        let shutdown = self.token();
        let header_read_timeout = http.header_read_timeout();
        self.spawn(
            "http",
            serve(listener, router, shutdown, header_read_timeout),
        );
    }
}
