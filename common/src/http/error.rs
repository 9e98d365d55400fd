//! The one error shape of the public contract: `{"code": "...", "message": "..."}` + status.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    /// Stable snake_case code clients branch on.
    pub code: String,
    /// Text for a person.
    pub message: String,
}

/// An error on its way to becoming a response. Server errors are opaque to the client:
/// their cause travels in the response extensions to the access log and nowhere else.
#[derive(Debug, Clone)]
pub struct HttpError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: Cow<'static, str>,
    retry_after_secs: Option<u64>,
    bearer_challenge: bool,
    cause: Option<String>,
}

/// The hidden cause of a 5xx, read by the access-log middleware.
#[derive(Debug, Clone)]
pub(crate) struct ErrorCause(pub(crate) String);

impl HttpError {
    /// A client-facing error with its status, code and message.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            retry_after_secs: None,
            bearer_challenge: false,
            cause: None,
        }
    }

    /// 500 `internal`; `cause` is logged, never sent.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut error = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        );
        error.cause = Some(cause.to_string());
        error
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 401 `unauthenticated` with `WWW-Authenticate: Bearer`: no valid bearer token.
    pub fn unauthenticated(message: impl Into<Cow<'static, str>>) -> Self {
        let mut error = Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message);
        error.bearer_challenge = true;
        error
    }

    /// 404 `not_found` for a path no route serves.
    #[must_use]
    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such route")
    }

    /// Adds a `Retry-After` header (429 and 503).
    #[must_use]
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for HttpError {}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.into_owned(),
            message: self.message.into_owned(),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.bearer_challenge {
            // RFC 6750: a 401 names the scheme the client should use.
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(cause) = self.cause {
            response.extensions_mut().insert(ErrorCause(cause));
        }
        response
    }
}
