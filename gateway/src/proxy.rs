//! Forwarding `/api/…` to sk-app and `/admin/…` to sk-admin.
//!
//! Admission comes first and costs no upstream work: the client's rate limit, the route's
//! rate limit, a concurrency slot (none free: 503 at once), the body limit. Then attempts on
//! instances the pool chooses; a GET or HEAD that could not connect, timed out or got
//! 502/503/504 is tried once more per `get_retries` on another instance. Response bodies
//! stream through unchanged, whatever their status.

mod outgoing;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use sk_common::forwarded::TrustedProxies;
use sk_common::http::HttpError;
use sk_common::readiness::error_chain;

use crate::edge::{Client, Proxied};
use crate::error::{Error, Result};
use crate::ids::RequestIds;
use crate::limits::{ClientLimits, RouteLimit};
use crate::pool::{Lease, Pool};
use crate::settings::{ProxySettings, RouteSettings};

pub use outgoing::strip_hop_by_hop;
use outgoing::{Outgoing, read_body};

/// The pooled keep-alive HTTP/1 client every route forwards through.
pub type UpstreamClient = HttpClient<HttpConnector, Full<Bytes>>;

/// A client with the configured connect timeout and idle pool.
#[must_use]
pub fn upstream_client(settings: &ProxySettings) -> UpstreamClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(Duration::from_millis(settings.connect_timeout_ms)));
    connector.set_nodelay(true);
    HttpClient::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(settings.idle_timeout_secs))
        .pool_max_idle_per_host(settings.max_idle_per_instance)
        .build(connector)
}

/// What every route shares.
#[derive(Debug)]
pub struct Shared {
    /// The upstream client.
    pub client: UpstreamClient,
    /// Per-client rate limits and concurrency slots.
    pub limits: ClientLimits,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted: TrustedProxies,
    /// Largest request body, in bytes.
    pub body_limit: usize,
    /// Longest a client may take to send its body.
    pub body_timeout: Duration,
}

/// One route family and where it goes.
#[derive(Debug)]
pub struct Route {
    pool: Pool,
    settings: RouteSettings,
    limit: RouteLimit,
    shared: Arc<Shared>,
}

impl Route {
    /// The route family served by `pool`, as configured.
    #[must_use]
    pub fn new(pool: Pool, settings: RouteSettings, shared: Arc<Shared>) -> Self {
        let limit = RouteLimit::new(settings.per_sec, settings.burst);
        Self {
            pool,
            settings,
            limit,
            shared,
        }
    }

    fn family(&self) -> &'static str {
        self.pool.family()
    }

    async fn handle(&self, request: Request) -> Result<Response> {
        if has_dot_segments(request.uri().path()) {
            // `/api/../metrics` must not reach another route of the upstream.
            return Ok(HttpError::no_route().into_response());
        }
        let extensions = request.extensions();
        let client = extensions.get::<Client>().copied().ok_or_else(no_edge)?;
        let ids = extensions
            .get::<RequestIds>()
            .cloned()
            .ok_or_else(no_edge)?;
        self.shared.limits.admit(client.ip)?;
        self.limit.admit()?;
        // The body first, within a deadline: a client that trickles it in holds no
        // concurrency slot, and not for long.
        let (parts, body) = request.into_parts();
        let read = read_body(&parts.headers, body, self.shared.body_limit);
        let timeout = self.shared.body_timeout;
        let body = tokio::time::timeout(timeout, read)
            .await
            .map_err(|_| Error::BodyTimeout { timeout })??;
        let _slot = self.shared.limits.slot(self.family())?;
        let outgoing = Outgoing::new(&parts, body, &client, &ids, &self.shared.trusted);
        self.send(&outgoing).await
    }

    async fn send(&self, outgoing: &Outgoing) -> Result<Response> {
        let attempts = if retry_safe(outgoing.method()) {
            1 + self.settings.get_retries
        } else {
            1
        };
        let mut tried: Vec<SocketAddr> = Vec::new();
        let mut last: Option<Result<Response>> = None;
        for _ in 0..attempts {
            let lease = match self.pool.lease(&tried) {
                Ok(lease) => lease,
                Err(unavailable) => return last.unwrap_or(Err(unavailable)),
            };
            if !tried.is_empty() {
                metrics::counter!(crate::metrics::RETRIES, "route" => self.family()).increment(1);
            }
            tried.push(lease.addr());
            let (outcome, worth_retrying) = self.attempt(lease, outgoing).await;
            if !worth_retrying {
                return outcome;
            }
            last = Some(outcome);
        }
        last.unwrap_or_else(|| Err(self.unavailable()))
    }

    /// One try on the leased instance: the outcome, and whether another instance might do
    /// better.
    async fn attempt(&self, lease: Lease, outgoing: &Outgoing) -> (Result<Response>, bool) {
        let addr = lease.addr();
        let request = match outgoing.to(addr) {
            Ok(request) => request,
            Err(e) => return (Err(self.failed(addr, &e)), false),
        };
        let timeout = self.settings.timeout();
        match tokio::time::timeout(timeout, self.shared.client.request(request)).await {
            Ok(Ok(response)) => self.answered(lease, response),
            Ok(Err(e)) => {
                lease.failed();
                self.count("error");
                (Err(self.failed(addr, &e)), true)
            }
            Err(_) => {
                lease.failed();
                self.count("timeout");
                tracing::warn!(family = self.family(), upstream = %addr, timeout_ms = timeout.as_millis(), "upstream timed out");
                let error = Error::UpstreamTimeout {
                    family: self.family(),
                    timeout,
                };
                (Err(error), true)
            }
        }
    }

    /// An answer, whatever its status, goes to the client; 502/503/504 are worth another
    /// instance. A 5xx counts against the instance, except 503: that is a live instance
    /// saying its own dependency is down or it is shedding load (sk-app answers it when
    /// sk-core is unreachable). Ejecting every sk-app for it would take browsing down with
    /// purchasing, the route-wide cut DESIGN §7 warns about.
    fn answered(&self, lease: Lease, response: Response<Incoming>) -> (Result<Response>, bool) {
        let addr = lease.addr();
        let status = response.status();
        let server_error = status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE;
        if server_error {
            lease.failed();
        } else {
            lease.succeeded();
        }
        self.count(if server_error { "server_error" } else { "ok" });
        let retry = matches!(
            status,
            StatusCode::BAD_GATEWAY | StatusCode::SERVICE_UNAVAILABLE | StatusCode::GATEWAY_TIMEOUT
        );
        (Ok(self.relay(response, addr)), retry)
    }

    /// The upstream's response as the client gets it: status and body unchanged.
    fn relay(&self, response: Response<Incoming>, addr: SocketAddr) -> Response {
        let (mut parts, body) = response.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        // The client's connection speaks the gateway's HTTP version, not the upstream's.
        parts.version = Version::default();
        parts.extensions.insert(Proxied {
            family: self.family(),
            upstream: Some(addr),
        });
        Response::from_parts(parts, Body::new(body))
    }

    fn failed(&self, addr: SocketAddr, error: &(dyn std::error::Error + 'static)) -> Error {
        let reason = error_chain(error);
        tracing::warn!(family = self.family(), upstream = %addr, %reason, "upstream request failed");
        Error::UpstreamFailed {
            family: self.family(),
            upstream: addr.to_string(),
            reason,
        }
    }

    fn unavailable(&self) -> Error {
        Error::Unavailable {
            family: self.family(),
            retry_after: Duration::from_secs(1),
        }
    }

    fn count(&self, outcome: &'static str) {
        metrics::counter!(crate::metrics::UPSTREAM_REQUESTS, "route" => self.family(), "outcome" => outcome)
            .increment(1);
    }
}

/// Handler of every method under a route family's prefix.
pub async fn forward(State(route): State<Arc<Route>>, request: Request) -> Response {
    let mut response = route
        .handle(request)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    if response.extensions().get::<Proxied>().is_none() {
        response.extensions_mut().insert(Proxied {
            family: route.family(),
            upstream: None,
        });
    }
    response
}

/// Methods a retry cannot repeat a side effect of.
fn retry_safe(method: &Method) -> bool {
    *method == Method::GET || *method == Method::HEAD
}

/// Whether a path has `.` or `..` segments, also percent-encoded.
fn has_dot_segments(path: &str) -> bool {
    path.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

/// The edge middleware did not run: a wiring mistake, not the client's.
fn no_edge() -> Error {
    Error::Wiring("the edge layer is missing")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments_are_spotted_even_encoded() {
        for path in ["/api/../metrics", "/api/%2e%2E/x", "/api/./v1", "/api/v1/."] {
            assert!(has_dot_segments(path), "{path}");
        }
        for path in ["/api/v1/time", "/api/v1/a.b", "/api/...", "/api/v1/..x"] {
            assert!(!has_dot_segments(path), "{path}");
        }
    }
}
