//! `/healthz` (the process is alive), `/readyz` (its dependencies answer), `/metrics` (with
//! the process's own figures collected on each scrape).

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;

use super::ProcessMetrics;
use crate::readiness::{Readiness, ReadinessReport};

/// The three operational routes every service serves.
pub fn health_routes(readiness: Readiness, metrics: PrometheusHandle) -> Router {
    let process = ProcessMetrics::default();
    Router::new()
        .route(
            "/healthz",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        )
        .route(
            "/readyz",
            get(move || {
                let readiness = readiness.clone();
                async move { readiness.report().await }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                process.collect();
                let body = metrics.render();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        body,
                    )
                }
            }),
        )
}

impl IntoResponse for ReadinessReport {
    fn into_response(self) -> Response {
        if self.ready {
            axum::Json(json!({"status": "ready", "checks": self.checks})).into_response()
        } else {
            let body = json!({
                "code": "not_ready",
                "message": self.reason(),
                "checks": self.checks,
            });
            (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
        }
    }
}
