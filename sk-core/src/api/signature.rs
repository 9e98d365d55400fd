//! Refuses every internal request whose HMAC signature is missing, wrong or stale, before any
//! handler (or Redis) sees it.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sk_common::http::HttpError;
use sk_common::signing::{RequestSigner, SIGNATURE_HEADER, SignedParts, TIMESTAMP_HEADER};
use sk_common::time::now_ms;

use crate::Error;

/// The signature check's settings.
#[derive(Debug, Clone)]
pub struct Verifier {
    signer: Arc<RequestSigner>,
    max_skew_ms: u64,
    body_limit: usize,
}

impl Verifier {
    /// Checks signatures made with `signer`'s secret, within `max_skew_ms` of this clock.
    #[must_use]
    pub fn new(signer: RequestSigner, max_skew_ms: u64, body_limit: usize) -> Self {
        Self {
            signer: Arc::new(signer),
            max_skew_ms,
            body_limit,
        }
    }
}

/// Middleware: buffers the (bounded) body, checks the signature, passes the request on.
pub async fn verify(State(verifier): State<Verifier>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, verifier.body_limit).await else {
        return HttpError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body too large",
        )
        .into_response();
    };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |pq| pq.as_str());
    let signed = SignedParts {
        method: parts.method.as_str(),
        path_and_query,
        body: &bytes,
    };
    let checked = verifier.signer.verify(
        signed,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        now_ms(),
        verifier.max_skew_ms,
    );
    if let Err(refusal) = checked {
        tracing::info!(reason = %refusal, path = parts.uri.path(), "unsigned or badly signed call refused");
        return Error::Signature(refusal).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
