//! One span per request, continuing the caller's trace from its `traceparent` and carrying
//! the request id, so every log line and downstream call inside the request belongs to it.

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::trace::{TRACEPARENT, TraceParent, continue_trace};

/// The request id header the gateway sets and every tier passes on.
pub const X_REQUEST_ID: &str = "x-request-id";

/// Probes and scrapes come every few seconds and belong to no purchase: no span.
const OPS_ROUTES: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Longest request id taken from a caller.
const MAX_REQUEST_ID_LEN: usize = 128;

/// Middleware: runs the request inside a `request` span with `trace_id`, `request_id` and an
/// `order_id` the handler may record (`tracing::Span::current().record("order_id", …)`).
/// The response carries the span's [`TraceParent`] as an extension.
pub async fn traced(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if OPS_ROUTES.contains(&path) {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str);
    let method = request.method().as_str();
    let id = request_id(request.headers()).map(ToOwned::to_owned);
    let span = tracing::info_span!(
        "request",
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = method,
        http.route = route,
        http.response.status_code = Empty,
        request_id = id.as_deref(),
        trace_id = Empty,
        order_id = Empty,
    );
    let parent = request
        .headers()
        .get(TRACEPARENT)
        .and_then(|value| TraceParent::from_bytes(value.as_bytes()));
    let own = continue_trace(&span, parent);
    let run = next.run(request).instrument(span.clone());
    let mut response = REQUEST_ID.scope(id, run).await;
    span.record("http.response.status_code", response.status().as_u16());
    if let Some(own) = own {
        // For an access log written outside the span (the gateway's).
        response.extensions_mut().insert(own);
    }
    response
}

tokio::task_local! {
    /// The request id of the request this task serves, for calls to the next tier. A task
    /// local rather than a parameter: it is needed only at the edge of the process, many calls
    /// deep, and a span's fields cannot be read back.
    static REQUEST_ID: Option<String>;
}

/// The request id of the request being served (inside [`traced`]), to pass downstream.
#[must_use]
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok().flatten()
}

/// The caller's request id when it is visible ASCII of a sane length (safe to log).
#[must_use]
pub fn request_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(X_REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= MAX_REQUEST_ID_LEN
                && id.bytes().all(|b| b.is_ascii_graphic() && b != b',')
        })
}
