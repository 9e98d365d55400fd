use std::borrow::Cow;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sk_common::http::HttpError;
use sk_common::jwt::{JwtError, MintError};
use sk_common::shutdown::TaskFailed;

/// Everything that can stop sk-admin or fail one of its requests.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] sk_common::Error),
    #[error(transparent)]
    Task(#[from] TaskFailed),
    #[error("invalid {field}: {reason}")]
    Invalid {
        field: &'static str,
        reason: Cow<'static, str>,
    },
    #[error("the cursor is not valid for this list")]
    InvalidCursor,
    #[error("no such activity")]
    ActivityNotFound,
    #[error("no such product")]
    ProductNotFound,
    #[error("the sale has started (or was closed): it can no longer be edited")]
    AlreadyStarted,
    #[error("not authenticated: {0}")]
    Unauthenticated(#[from] JwtError),
    #[error("this route needs the admin role")]
    Forbidden,
    #[error(transparent)]
    Mint(#[from] MintError),
}

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A 400 `invalid_request` naming `field`.
    pub fn invalid(field: &'static str, reason: impl Into<Cow<'static, str>>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// The one map from errors to HTTP answers.
    fn to_http(&self) -> HttpError {
        match self {
            Self::Invalid { .. } => HttpError::invalid_request(self.to_string()),
            Self::InvalidCursor => {
                HttpError::new(StatusCode::BAD_REQUEST, "invalid_cursor", self.to_string())
            }
            Self::ActivityNotFound => HttpError::new(
                StatusCode::NOT_FOUND,
                "activity_not_found",
                self.to_string(),
            ),
            Self::AlreadyStarted => {
                HttpError::new(StatusCode::CONFLICT, "already_started", self.to_string())
            }
            Self::ProductNotFound => {
                HttpError::new(StatusCode::NOT_FOUND, "product_not_found", self.to_string())
            }
            Self::Unauthenticated(_) => HttpError::unauthenticated(self.to_string()),
            Self::Forbidden => HttpError::new(StatusCode::FORBIDDEN, "forbidden", self.to_string()),
            Self::Mint(MintError::InvalidTtl { .. }) => {
                HttpError::invalid_request(self.to_string())
            }
            Self::Mint(MintError::Signing(_)) => HttpError::internal(self),
            // A dependency failed: the cause goes to the log only.
            Self::Common(_) | Self::Task(_) => {
                tracing::warn!(error = %self, "request failed on a dependency");
                HttpError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "try again shortly",
                )
                .retry_after(1)
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.to_http().into_response()
    }
}
