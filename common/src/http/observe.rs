//! Request metrics and the access log, in one middleware, plus the Prometheus recorder.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use metrics_util::MetricKindMask;

use super::error::ErrorCause;

/// Latency buckets in seconds: a flash sale cares about the 1–50 ms range.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Size buckets (events per batch and the like): the `_size` histograms.
const SIZE_BUCKETS: &[f64] = &[
    1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1_000.0, 2_000.0, 5_000.0,
];

/// A gauge not set for this long leaves `/metrics`: per-activity gauges are only set while
/// their activity is live, so ended sales do not pile up as series.
const GAUGE_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// Installs the process-wide Prometheus recorder once and returns its handle.
///
/// The `metrics` facade is global by design; installing it here, once, lets every service
/// (and several services in one test process) share it.
pub fn install_metrics_recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .idle_timeout(MetricKindMask::GAUGE, Some(GAUGE_IDLE_TIMEOUT))
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Suffix("_size".into()), SIZE_BUCKETS)
                });
            let recorder = match builder {
                Ok(builder) => builder.build_recorder(),
                Err(e) => {
                    tracing::warn!(error = %e, "latency buckets rejected; using summaries");
                    PrometheusBuilder::new().build_recorder()
                }
            };
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics will be empty");
            }
            super::shared_metrics::describe();
            handle
        })
        .clone()
}

/// Middleware: counts and times every request by method, route template and status, and logs
/// server errors with their hidden cause.
pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status();
    let elapsed = started.elapsed();
    metrics::counter!(super::HTTP_REQUESTS,
        "method" => method, "route" => route.clone(), "status" => status.as_str().to_owned())
    .increment(1);
    metrics::histogram!(super::HTTP_REQUEST_DURATION, "method" => method, "route" => route.clone())
        .record(elapsed.as_secs_f64());
    if let Some(ErrorCause(cause)) = response.extensions().get::<ErrorCause>() {
        tracing::error!(%method, %route, status = status.as_u16(), %cause, "request failed");
    } else {
        tracing::debug!(%method, %route, status = status.as_u16(), elapsed_ms = elapsed.as_millis(), "request");
    }
    response
}

/// Methods as a bounded label set: anything unusual is `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}
