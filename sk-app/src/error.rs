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
    #[error("the cursor is not valid for this list")]
    InvalidCursor,
    /// MySQL (catalog, ledger) did not answer: browsing waits, purchases do not need it.
    #[error("mysql unavailable: {0}")]
    MysqlUnavailable(String),
    #[error("a purchase of yours for this activity is still in progress")]
    PurchaseInFlight,
    #[error("this account or address may not buy")]
    Blacklisted,
    #[error("the sale has not started")]
    NotStarted,
    #[error("the sale has ended")]
    Ended,
    #[error("not enough units left")]
    SoldOut,
    #[error("too many purchase attempts; slow down")]
    RateLimited {
        /// Seconds until the next attempt is allowed (at least 1).
        retry_after_secs: u64,
    },
    /// The activity's `buy_rate` draw did not admit this attempt.
    #[error("too many shoppers right now; try again")]
    NotAdmitted,
    /// The circuit breaker around sk-core is open: sk-core was not called.
    #[error("sk-core unavailable: circuit open")]
    CoreCircuitOpen {
        /// Seconds until the breaker lets calls through again (at least 1).
        retry_after_secs: u64,
    },
    /// Redis could not tell us about an activity we have not cached.
    #[error("activity state unavailable: {0}")]
    StateUnavailable(String),
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
            Self::InvalidCursor => client(S::BAD_REQUEST, "invalid_cursor"),
            Self::PurchaseInFlight | Self::NotAdmitted => {
                client(S::TOO_MANY_REQUESTS, "try_again").retry_after(1)
            }
            Self::Blacklisted => client(S::FORBIDDEN, "blacklisted"),
            Self::NotStarted => client(S::CONFLICT, "not_started"),
            Self::Ended => client(S::GONE, "ended"),
            Self::SoldOut => client(S::CONFLICT, "sold_out"),
            Self::RateLimited { retry_after_secs } => {
                client(S::TOO_MANY_REQUESTS, "rate_limited").retry_after(*retry_after_secs)
            }
            Self::Refused {
                status,
                body,
                retry_after_secs,
            } => refused(*status, body, *retry_after_secs),
            // The cause was logged where the call failed; the shopper may retry shortly.
            Self::CoreUnavailable(_) | Self::StateUnavailable(_) | Self::MysqlUnavailable(_) => {
                unavailable(1)
            }
            Self::CoreCircuitOpen { retry_after_secs } => unavailable(*retry_after_secs),
            Self::Common(_) | Self::Task(_) => HttpError::internal(self),
        }
    }
}

/// 503 `unavailable`: the shopper may retry after `retry_after_secs`.
fn unavailable(retry_after_secs: u64) -> HttpError {
    HttpError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "try again shortly",
    )
    .retry_after(retry_after_secs)
}

/// Whole seconds to wait for `wait`, rounded up, at least 1 (what `Retry-After` carries).
#[must_use]
pub fn retry_after_secs(wait: std::time::Duration) -> u64 {
    let rounded_up = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    rounded_up.max(1)
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
