//! The gateway's metrics (its rows of `METRICS.md`): names, help texts, and the series that
//! exist from start-up so their rates are defined before the first event.

use metrics::{counter, describe_counter, describe_gauge};

use crate::LimitScope;

/// Counter by `scope`: requests refused by a token bucket (429).
pub const RATE_LIMITED: &str = "gateway_rate_limited_total";
/// Counter by `route`: requests refused at once because every slot was taken (503).
pub const SHED: &str = "gateway_shed_total";
/// Counter by `route`: requests retried on another instance.
pub const RETRIES: &str = "gateway_retries_total";
/// Counter by `route` and `outcome`: attempts to reach an upstream instance.
pub const UPSTREAM_REQUESTS: &str = "gateway_upstream_requests_total";
/// Gauge by `route` and `upstream`: 1 while the instance is out of rotation.
pub const UPSTREAM_EJECTED: &str = "gateway_upstream_ejected";
/// Gauge by `route` and `upstream`: the instance's breaker (0 closed, 1 half-open, 2 open).
pub const BREAKER_STATE: &str = "gateway_breaker_state";

/// Every `outcome` of [`UPSTREAM_REQUESTS`].
const UPSTREAM_OUTCOMES: [&str; 4] = ["ok", "server_error", "error", "timeout"];

/// Describes the gateway's metrics and registers its fixed series at zero for the route
/// `families` it serves.
pub fn register(families: &[&'static str]) {
    sk_common::http::install_metrics_recorder();
    describe_counter!(
        RATE_LIMITED,
        "Requests refused with 429 by the gateway's per-IP or per-route token bucket"
    );
    describe_counter!(
        SHED,
        "Requests refused with 503 at once because every concurrency slot was taken (load shedding)"
    );
    describe_counter!(
        RETRIES,
        "Proxied requests retried on another upstream instance"
    );
    describe_counter!(
        UPSTREAM_REQUESTS,
        "Attempts to reach an upstream instance, by outcome"
    );
    describe_gauge!(
        UPSTREAM_EJECTED,
        "Whether an upstream instance is out of rotation after failed health probes or requests (1 = ejected)"
    );
    describe_gauge!(
        BREAKER_STATE,
        "Circuit breaker state per upstream instance (0 closed, 1 half-open, 2 open)"
    );
    for scope in [LimitScope::Ip, LimitScope::Route] {
        counter!(RATE_LIMITED, "scope" => scope.as_str()).increment(0);
    }
    for &family in families {
        counter!(SHED, "route" => family).increment(0);
        counter!(RETRIES, "route" => family).increment(0);
        for outcome in UPSTREAM_OUTCOMES {
            counter!(UPSTREAM_REQUESTS, "route" => family, "outcome" => outcome).increment(0);
        }
    }
}
