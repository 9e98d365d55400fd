//! Refuses every internal request whose HMAC signature is missing, wrong or stale before any
//! handler (or Redis) sees it, then every genuine one that was already served (see
//! [`ReplayGuard`]).

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sk_common::http::HttpError;
use sk_common::signing::{
    NONCE_HEADER, PresentedSignature, RequestSigner, SIGNATURE_HEADER, SignatureError, SignedParts,
    TIMESTAMP_HEADER,
};
use sk_common::time::now_ms;

use super::ReplayGuard;
use crate::{Error, Result};

/// The signature check's settings.
#[derive(Debug, Clone)]
pub struct Verifier {
    signer: Arc<RequestSigner>,
    max_skew_ms: u64,
    body_limit: usize,
    replays: ReplayGuard,
}

impl Verifier {
    /// Checks signatures made with `signer`'s secret, within `max_skew_ms` of this clock, and
    /// serves each call once (`replays`, which must cover the same window).
    #[must_use]
    pub fn new(
        signer: RequestSigner,
        max_skew_ms: u64,
        body_limit: usize,
        replays: ReplayGuard,
    ) -> Self {
        Self {
            signer: Arc::new(signer),
            max_skew_ms,
            body_limit,
            replays,
        }
    }

    /// Lets a call through if it is genuine, fresh and not served before.
    async fn admit(&self, parts: &Parts, body: &[u8]) -> Result<()> {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path(), |pq| pq.as_str());
        let signed = SignedParts {
            method: parts.method.as_str(),
            path_and_query,
            body,
        };
        let presented = PresentedSignature {
            timestamp: header(TIMESTAMP_HEADER),
            nonce: header(NONCE_HEADER),
            signature: header(SIGNATURE_HEADER),
        };
        let nonce = self
            .signer
            .verify(signed, presented, now_ms(), self.max_skew_ms)
            .inspect_err(|refusal| {
                let reason = if matches!(refusal, SignatureError::Stale) {
                    "stale_request"
                } else {
                    "invalid_signature"
                };
                metrics::counter!(crate::metrics::CALLS_REFUSED, "reason" => reason).increment(1);
                tracing::info!(reason = %refusal, path = parts.uri.path(), "unsigned or badly signed call refused");
            })?;
        // Checked only now, so forgeries never cost a Redis command.
        if self.replays.first_use(nonce).await? {
            Ok(())
        } else {
            metrics::counter!(crate::metrics::CALLS_REFUSED, "reason" => "replayed_request")
                .increment(1);
            tracing::warn!(path = parts.uri.path(), "replayed signed call refused");
            Err(Error::Replayed)
        }
    }
}

/// Middleware: buffers the (bounded) body, checks the signature and that the call was not
/// served before, passes the request on.
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
    if let Err(refusal) = verifier.admit(&parts, &bytes).await {
        return refusal.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}
