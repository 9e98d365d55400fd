//! HTTP plumbing shared by every service: settings, the error type, the health routes,
//! request metrics and serving with graceful shutdown.

mod error;
mod health;
mod json;
mod observe;
mod plain_errors;
mod serve;
mod shared_metrics;
mod traced;

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

pub use error::{ErrorBody, HttpError};
pub use health::health_routes;
pub use json::Json;
pub use observe::{install_metrics_recorder, observe};
pub use serve::{serve, service_router};
use shared_metrics::{HTTP_REQUEST_DURATION, HTTP_REQUESTS, ProcessMetrics};
pub use traced::{X_REQUEST_ID, current_request_id, request_id, traced};

use crate::settings::SettingsError;

/// The HTTP side of a service.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    /// Address to listen on, e.g. `127.0.0.1:8082` (`0.0.0.0:8082` in a container).
    pub listen: SocketAddr,
    /// Seconds that in-flight requests and background tasks get to finish after SIGTERM.
    pub shutdown_grace_secs: u64,
    /// Milliseconds each `/readyz` dependency probe may take.
    pub readiness_timeout_ms: u64,
    /// Largest request body accepted, in bytes (larger → 413).
    pub body_limit_bytes: usize,
    /// Milliseconds a client may take to send a request's line and headers; a slower one
    /// (slowloris) is disconnected.
    pub header_read_timeout_ms: u64,
}

impl HttpSettings {
    /// Checks the bounds of every field.
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] naming the offending `http.*` key.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(1..=600).contains(&self.shutdown_grace_secs) {
            return Err(SettingsError::invalid(
                "http.shutdown_grace_secs",
                "must be between 1 and 600",
            ));
        }
        if !(10..=60_000).contains(&self.readiness_timeout_ms) {
            return Err(SettingsError::invalid(
                "http.readiness_timeout_ms",
                "must be between 10 and 60000",
            ));
        }
        if !(1..=16 * 1024 * 1024).contains(&self.body_limit_bytes) {
            return Err(SettingsError::invalid(
                "http.body_limit_bytes",
                "must be between 1 and 16777216",
            ));
        }
        if !(100..=600_000).contains(&self.header_read_timeout_ms) {
            return Err(SettingsError::invalid(
                "http.header_read_timeout_ms",
                "must be between 100 and 600000",
            ));
        }
        Ok(())
    }

    /// How long a client may take to send a request's line and headers.
    #[must_use]
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    /// How long shutdown waits for in-flight work.
    #[must_use]
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }

    /// How long each readiness probe may take.
    #[must_use]
    pub fn readiness_timeout(&self) -> Duration {
        Duration::from_millis(self.readiness_timeout_ms)
    }
}

#[cfg(test)]
mod tests;
