//! The gateway's one error type, and its one mapping to the `{"code","message"}` contract.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sk_common::http::HttpError;
use sk_common::shutdown::TaskFailed;

/// Which rate limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    /// The client address's own bucket.
    Ip,
    /// The route family's bucket, shared by every client.
    Route,
}

impl LimitScope {
    /// The metric label.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ip => "ip",
            Self::Route => "route",
        }
    }
}

/// Everything that can stop gateway or end a request early.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] sk_common::Error),
    #[error(transparent)]
    Task(#[from] TaskFailed),
    #[error("the gateway is wired wrong: {0}")]
    Wiring(&'static str),
    #[error("too many requests (limit per {})", scope.as_str())]
    RateLimited {
        scope: LimitScope,
        retry_after: Duration,
    },
    #[error("the gateway is at its concurrency limit")]
    Shed,
    #[error("request body over {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("cannot read the request body: {0}")]
    BadBody(String),
    #[error("the request body did not arrive within {} ms", timeout.as_millis())]
    BodyTimeout { timeout: Duration },
    #[error("no {family} instance can take the request")]
    Unavailable {
        family: &'static str,
        retry_after: Duration,
    },
    #[error("{family} instance {upstream} failed: {reason}")]
    UpstreamFailed {
        family: &'static str,
        upstream: String,
        reason: String,
    },
    #[error("{family} did not answer within {} ms", timeout.as_millis())]
    UpstreamTimeout {
        family: &'static str,
        timeout: Duration,
    },
}

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whole seconds for `Retry-After`, rounded up, at least one.
fn retry_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

impl Error {
    fn into_http(self) -> HttpError {
        match self {
            Self::RateLimited { retry_after, .. } => HttpError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many requests; retry later",
            )
            .retry_after(retry_secs(retry_after)),
            Self::Shed => unavailable("the service is busy; retry shortly", 1),
            Self::PayloadTooLarge { limit } => HttpError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("request body over {limit} bytes"),
            ),
            Self::BadBody(reason) => HttpError::invalid_request(reason),
            Self::BodyTimeout { .. } => HttpError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request body did not arrive in time",
            ),
            Self::Unavailable { retry_after, .. } => unavailable(
                "no instance can take the request; retry shortly",
                retry_secs(retry_after),
            ),
            Self::UpstreamFailed { .. } => {
                unavailable("the upstream did not answer; retry shortly", 1)
            }
            Self::UpstreamTimeout { .. } => HttpError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "upstream_timeout",
                "the upstream did not answer in time",
            ),
            Self::Common(_) | Self::Task(_) | Self::Wiring(_) => HttpError::internal(self),
        }
    }
}

fn unavailable(message: &'static str, retry_after_secs: u64) -> HttpError {
    HttpError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
        .retry_after(retry_after_secs)
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.into_http().into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_secs(Duration::ZERO), 1);
        assert_eq!(retry_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_secs(Duration::from_millis(2001)), 3);
    }
}
