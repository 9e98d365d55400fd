//! Refuses every internal request whose HMAC signature is missing, wrong or stale, before any
//! handler sees it, and every one that was already served: each accepted signature is kept in
//! Redis (shared by every sk-core) for twice the freshness window, so a captured request
//! cannot be sent again, to this instance or another.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use redis::aio::ConnectionManager;
use sk_common::http::HttpError;
use sk_common::signing::{RequestSigner, SIGNATURE_HEADER, SignedParts, TIMESTAMP_HEADER};
use sk_common::time::now_ms;

use crate::Error;

/// The signature check's settings.
#[derive(Clone)]
pub struct Verifier {
    signer: Arc<RequestSigner>,
    max_skew_ms: u64,
    body_limit: usize,
    redis: ConnectionManager,
    seen_prefix: String,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("max_skew_ms", &self.max_skew_ms)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Checks signatures made with `signer`'s secret, within `max_skew_ms` of this clock,
    /// remembering the accepted ones in `redis` under `key_prefix`.
    #[must_use]
    pub fn new(
        signer: RequestSigner,
        max_skew_ms: u64,
        body_limit: usize,
        redis: ConnectionManager,
        key_prefix: &str,
    ) -> Self {
        Self {
            signer: Arc::new(signer),
            max_skew_ms,
            body_limit,
            redis,
            seen_prefix: format!("{key_prefix}:signatures:"),
        }
    }

    /// True the first time `signature` is offered within its window (a signature covers the
    /// timestamp, so the same request signed again later is a new one).
    async fn first_use(&self, signature: &str) -> Result<bool, Error> {
        // A request is fresh within ±max_skew of its timestamp: remembering it for twice that
        // from its first use covers every moment a copy could still pass as fresh.
        let set: Option<String> = redis::cmd("SET")
            .arg(format!("{}{signature}", self.seen_prefix))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(self.max_skew_ms.saturating_mul(2).max(1))
            .query_async(&mut self.redis.clone())
            .await
            .map_err(sk_common::Error::from)?;
        Ok(set.is_some())
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
    match verifier
        .first_use(header(SIGNATURE_HEADER).unwrap_or_default())
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(path = parts.uri.path(), "replayed signed call refused");
            return Error::Replayed.into_response();
        }
        Err(e) => return e.into_response(),
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
