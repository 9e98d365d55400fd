use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sk_common::http::HttpError;
use sk_common::shutdown::TaskFailed;
use sk_common::signing::SignatureError;
use sk_common::stock::Rejection;

/// Everything that can stop sk-core or fail one of its requests.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Common(#[from] sk_common::Error),
    #[error(transparent)]
    Task(#[from] TaskFailed),
    #[error("request refused: {0}")]
    Signature(#[from] SignatureError),
    #[error("request refused: this signed call was already served")]
    Replayed,
    #[error("the purchase token is not valid for this order")]
    InvalidToken,
    #[error("no such activity")]
    ActivityNotFound,
    #[error("no such order")]
    OrderNotFound,
    #[error("reservation refused: {0}")]
    Rejected(Rejection),
    #[error("the order was cancelled")]
    Cancelled,
    #[error("the payment deadline has passed")]
    Expired,
    #[error("the order is already paid")]
    AlreadyPaid,
    #[error("kafka error: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("cannot relay an event: {0}")]
    Encode(String),
}

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    fn to_http(&self) -> HttpError {
        use StatusCode as S;
        let client = |status, code: &'static str| HttpError::new(status, code, self.to_string());
        match self {
            Self::Signature(SignatureError::Stale) => client(S::UNAUTHORIZED, "stale_request"),
            Self::Signature(_) => client(S::UNAUTHORIZED, "invalid_signature"),
            Self::Replayed => client(S::UNAUTHORIZED, "replayed_request"),
            Self::InvalidToken => client(S::FORBIDDEN, "invalid_token"),
            Self::ActivityNotFound => client(S::NOT_FOUND, "activity_not_found"),
            Self::OrderNotFound => client(S::NOT_FOUND, "order_not_found"),
            Self::Rejected(rejection) => rejection_to_http(*rejection),
            Self::Cancelled => client(S::CONFLICT, "cancelled"),
            Self::Expired => client(S::CONFLICT, "expired"),
            Self::AlreadyPaid => client(S::CONFLICT, "already_paid"),
            // A dependency failed: the caller may retry soon; the cause goes to the log only.
            Self::Common(_) | Self::Kafka(_) | Self::Task(_) | Self::Encode(_) => {
                tracing::warn!(error = %self, "request failed on a dependency");
                HttpError::new(S::SERVICE_UNAVAILABLE, "unavailable", "try again shortly")
                    .retry_after(1)
            }
        }
    }
}

fn rejection_to_http(rejection: Rejection) -> HttpError {
    use StatusCode as S;
    let (status, code, message) = match rejection {
        Rejection::ActivityNotFound => (S::NOT_FOUND, "activity_not_found", "no such activity"),
        Rejection::Closed => (S::GONE, "ended", "the sale was closed"),
        Rejection::NotStarted => (S::CONFLICT, "not_started", "the sale has not started"),
        Rejection::Ended => (S::GONE, "ended", "the sale has ended"),
        Rejection::LimitExceeded => (
            S::CONFLICT,
            "limit_exceeded",
            "this would exceed the per-user limit",
        ),
        Rejection::SoldOut => (S::CONFLICT, "sold_out", "not enough units left"),
        Rejection::RateCapped => {
            return HttpError::new(
                S::TOO_MANY_REQUESTS,
                "try_again",
                "too many sales this second",
            )
            .retry_after(1);
        }
    };
    HttpError::new(status, code, message)
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        self.to_http().into_response()
    }
}
