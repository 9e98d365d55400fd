//! The outermost layer, around every route: who the client is, the request ids, the
//! `x-request-id` echoed in the response, and one JSON access-log event per request.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::IntoResponse as _;
use axum::response::Response;
use sk_common::forwarded::TrustedProxies;
use sk_common::http::HttpError;
use sk_common::trace::TraceParent;

use crate::ids::{RequestIds, X_REQUEST_ID};

/// The client of a request, as the edge worked it out.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    /// The TCP peer.
    pub peer: IpAddr,
    /// The client address: the peer, or from `X-Forwarded-For` when the peer is trusted.
    pub ip: IpAddr,
}

/// The gateway's own operational routes, logged at debug level only.
const OPS_ROUTES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Put on a proxied response for the access log: the route family and the instance that
/// answered (none when the gateway answered itself).
#[derive(Debug, Clone, Copy)]
pub struct Proxied {
    /// `app` or `admin`.
    pub family: &'static str,
    /// The instance that answered.
    pub upstream: Option<SocketAddr>,
}

/// What the edge is configured with.
#[derive(Debug, Clone)]
pub struct EdgeSettings {
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted: TrustedProxies,
    /// Most bytes of request target plus headers accepted (then 431).
    pub max_header_bytes: usize,
}

/// Middleware: works out the client and the ids, refuses oversized headers, runs the request,
/// echoes `x-request-id` and logs the request.
pub async fn edge(
    State(settings): State<EdgeSettings>,
    mut request: Request,
    next: Next,
) -> Response {
    let trusted = &settings.trusted;
    let started = Instant::now();
    // Always there when served through `sk_common::http::serve`; absent only in unit tests.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
    let client = Client {
        peer,
        ip: trusted.client_ip(peer, request.headers()),
    };
    let ids = RequestIds::from_headers(request.headers());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    request.extensions_mut().insert(client);
    request.extensions_mut().insert(ids.clone());
    let mut response = if header_bytes(&request) > settings.max_header_bytes {
        // Nothing this large is a shopper's request; it is not worth an upstream's time.
        HttpError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("request headers over {} bytes", settings.max_header_bytes),
        )
        .into_response()
    } else {
        next.run(request).await
    };
    response
        .headers_mut()
        .insert(X_REQUEST_ID, ids.request_id.clone());
    let status = response.status().as_u16();
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let request_id = ids.request_id();
    // The request span's trace (see `sk_common::http::traced`), else the one sent upstream.
    let trace_id = response
        .extensions()
        .get::<TraceParent>()
        .unwrap_or(&ids.traceparent)
        .trace_id();
    let proxied = response.extensions().get::<Proxied>().copied();
    let route = proxied.map_or("gateway", |p| p.family);
    let upstream = proxied
        .and_then(|p| p.upstream)
        .map(|addr| addr.to_string());
    if OPS_ROUTES.contains(&path.as_str()) {
        // Probes and scrapes come every few seconds: visible on demand only.
        tracing::debug!(target: "access", %method, %path, route, status, duration_ms, request_id, "request");
    } else {
        tracing::info!(
            target: "access", %method, %path, route, status, duration_ms, upstream = upstream.as_deref(),
            request_id, %trace_id, client_ip = %client.ip, "request"
        );
    }
    response
}

/// The size of the request target and headers as sent (`name: value\r\n` each).
fn header_bytes(request: &Request) -> usize {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum::<usize>()
        + target
}
