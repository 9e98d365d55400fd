//! Request correlation: `x-request-id` and the W3C `traceparent`, each taken from the client
//! when well formed and created otherwise.
//!
//! The request's span (made by `sk_common::http::traced`) continues the client's trace, and
//! its own context is what goes upstream, so the gateway's span is sk-app's parent. Without
//! an OpenTelemetry layer (tests) the context here is sent instead: the client's, or a new
//! one with a random trace id and the `sampled` flag.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use sk_common::trace::TraceParent;
use uuid::Builder;

/// The request id header, echoed in every response.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static(sk_common::http::X_REQUEST_ID);
/// The W3C trace context header.
pub const TRACEPARENT: HeaderName = HeaderName::from_static(sk_common::trace::TRACEPARENT);

/// The ids of one request, as sent upstream and logged.
#[derive(Debug, Clone)]
pub struct RequestIds {
    /// `x-request-id`.
    pub request_id: HeaderValue,
    /// The client's trace context, or a new one.
    pub traceparent: TraceParent,
}

impl RequestIds {
    /// Takes the client's ids when they are well formed, and makes new ones otherwise.
    #[must_use]
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let request_id = sk_common::http::request_id(headers)
            .and_then(|id| HeaderValue::from_str(id).ok())
            .unwrap_or_else(new_request_id);
        let traceparent = headers
            .get(TRACEPARENT)
            .and_then(|value| TraceParent::from_bytes(value.as_bytes()))
            .unwrap_or_else(TraceParent::new_root);
        Self {
            request_id,
            traceparent,
        }
    }

    /// The request id as text (always ASCII: see `sk_common::http::request_id`).
    #[must_use]
    pub fn request_id(&self) -> &str {
        self.request_id.to_str().unwrap_or_default()
    }
}

/// A UUIDv7 (time-ordered, so logs sort by it). Its random bits come from a fast per-thread
/// generator: ids must be unique, not secret, and asking the OS for randomness on every
/// request cost about 1 % of the gateway.
fn new_request_id() -> HeaderValue {
    let ms = sk_common::time::now_ms();
    let mut random = [0_u8; 10];
    fastrand::fill(&mut random);
    let uuid = Builder::from_unix_timestamp_millis(ms, &random).into_uuid();
    HeaderValue::from_str(&uuid.to_string()).unwrap_or(HeaderValue::from_static("unknown"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_str(value) {
                map.insert(*name, value);
            }
        }
        map
    }

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn valid_ids_are_propagated() {
        let ids = RequestIds::from_headers(&headers(&[
            (&X_REQUEST_ID, "req-42"),
            (&TRACEPARENT, VALID),
        ]));
        assert_eq!(ids.request_id(), "req-42");
        assert_eq!(ids.traceparent.to_string(), VALID);
    }

    #[test]
    fn missing_or_bad_ids_are_replaced() {
        for bad in [
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "nonsense",
        ] {
            let long_id = "x".repeat(200);
            let ids = RequestIds::from_headers(&headers(&[
                (&TRACEPARENT, bad),
                (&X_REQUEST_ID, &long_id),
            ]));
            let made = ids.traceparent.to_string();
            assert_ne!(made, bad);
            assert!(made.starts_with("00-") && made.ends_with("-01"), "{made}");
            assert_eq!(ids.request_id().len(), 36, "a UUID");
        }
    }
}
