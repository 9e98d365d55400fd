use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sk_common::http::{ErrorBody, HttpError};
use sk_common::jwt::JwtError;
use sk_common::shutdown::TaskFailed;

/// Everything that can stop sk-app or fail one of its requests.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] sk_common::Error),
    #[error(transparent)]
    Task(#[from] TaskFailed),
    #[error("not authenticated: {0}")]
    Unauthenticated(#[from] JwtError),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("no such activity")]
    ActivityNotFound,
    #[error("no such order")]
    OrderNotFound,
    #[error("a purchase of yours for this activity is still in progress")]
    PurchaseInFlight,
    /// sk-core refused with a 4xx: passed on to the shopper unchanged.
    #[error("{}", body.message)]
    Refused {
        /// sk-core's status.
        status: StatusCode,
        /// sk-core's `{"code","message"}`.
        body: ErrorBody,
        /// sk-core's `Retry-After`, when it sent one.
        retry_after_secs: Option<u64>,
    },
    /// sk-core did not answer in time, answered 5xx, or answered something we cannot use.
    #[error("sk-core unavailable: {0}")]
    CoreUnavailable(String),
}

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    fn to_http(&self) -> HttpError {
        use StatusCode as S;
        let client = |status, code: &'static str| HttpError::new(status, code, self.to_string());
        match self {
            Self::Unauthenticated(_) => HttpError::unauthenticated(self.to_string()),
            Self::InvalidRequest(_) => HttpError::invalid_request(self.to_string()),
            Self::ActivityNotFound => client(S::NOT_FOUND, "activity_not_found"),
            Self::OrderNotFound => client(S::NOT_FOUND, "order_not_found"),
            Self::PurchaseInFlight => client(S::TOO_MANY_REQUESTS, "try_again").retry_after(1),
            Self::Refused {
                status,
                body,
                retry_after_secs,
            } => refused(*status, body, *retry_after_secs),
            // The cause was logged where the call failed; the shopper may retry shortly.
            Self::CoreUnavailable(_) => {
                HttpError::new(S::SERVICE_UNAVAILABLE, "unavailable", "try again shortly")
                    .retry_after(1)
            }
            Self::Common(_) | Self::Task(_) => HttpError::internal(self),
        }
    }
}

fn refused(status: StatusCode, body: &ErrorBody, retry_after_secs: Option<u64>) -> HttpError {
    let error = HttpError::new(status, body.code.clone(), body.message.clone());
    // Every 429 carries Retry-After (DESIGN §3), even if sk-core forgot one.
    match retry_after_secs {
        Some(secs) => error.retry_after(secs),
        None if status == StatusCode::TOO_MANY_REQUESTS => error.retry_after(1),
        None => error,
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.to_http().into_response()
    }
}
