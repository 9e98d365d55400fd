//! The safety net of the error contract: a client error answered in plain text (axum's
//! extractor rejections are: a path segment that is not UTF-8, a query that does not parse)
//! is rewritten as `{"code","message"}` with the same status. Our own errors are JSON already
//! and pass untouched, as does every success.

use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::HttpError;

/// Longest rejection text kept as the message (axum's are one line).
const MAX_MESSAGE_BYTES: usize = 1024;

/// Middleware: plain-text 4xx answers become JSON errors.
pub async fn json_client_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !status.is_client_error() || !is_plain_text(response.headers()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let message = match to_bytes(body, MAX_MESSAGE_BYTES).await {
        Ok(text) if !text.is_empty() => String::from_utf8_lossy(&text).trim().to_owned(),
        _ => status
            .canonical_reason()
            .unwrap_or("bad request")
            .to_owned(),
    };
    let mut rewritten = HttpError::new(status, code_of(status), message).into_response();
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        rewritten.headers_mut().insert(header::ALLOW, allow.clone());
    }
    rewritten
}

fn is_plain_text(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/plain"))
}

/// The contract's code for a status axum chose.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        _ => "invalid_request",
    }
}
