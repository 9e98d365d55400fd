//! Request correlation: `x-request-id` and the W3C `traceparent`, each propagated when the
//! client sent a valid one and created otherwise.
//!
//! An incoming `traceparent` is forwarded unchanged: the gateway takes part in no trace of its
//! own, so the caller's span stays the parent of sk-app's. A new one gets a random trace id,
//! a random parent id and the `sampled` flag, so the upstream records the request.

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use uuid::Builder;

/// The request id header, echoed in every response.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The W3C trace context header.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// Longest request id taken from a client.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The ids of one request, as sent upstream and logged.
#[derive(Debug, Clone)]
pub struct RequestIds {
    /// `x-request-id`.
    pub request_id: HeaderValue,
    /// `traceparent`.
    pub traceparent: HeaderValue,
}

impl RequestIds {
    /// Takes the client's ids when they are well formed, and makes new ones otherwise.
    #[must_use]
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let request_id = headers
            .get(X_REQUEST_ID)
            .filter(|value| valid_request_id(value.as_bytes()))
            .cloned()
            .unwrap_or_else(new_request_id);
        let traceparent = headers
            .get(TRACEPARENT)
            .filter(|value| valid_traceparent(value.as_bytes()))
            .cloned()
            .unwrap_or_else(new_traceparent);
        Self {
            request_id,
            traceparent,
        }
    }

    /// The request id as text (always ASCII: see [`valid_request_id`]).
    #[must_use]
    pub fn request_id(&self) -> &str {
        self.request_id.to_str().unwrap_or_default()
    }

    /// The 32 hex digits of the trace id.
    #[must_use]
    pub fn trace_id(&self) -> &str {
        self.traceparent
            .to_str()
            .ok()
            .and_then(|text| text.get(3..35))
            .unwrap_or_default()
    }
}

/// Visible ASCII without spaces or commas, at most 128 bytes: safe to log and to echo.
fn valid_request_id(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes.len() <= MAX_REQUEST_ID_LEN
        && bytes.iter().all(|b| b.is_ascii_graphic() && *b != b',')
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

/// `version-traceid-parentid-flags` with lowercase hex, neither id all zeros, version not `ff`.
fn valid_traceparent(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let parts: Vec<&str> = text.split('-').collect();
    let [version, trace_id, parent_id, flags, ..] = parts[..] else {
        return false;
    };
    let hex = |part: &str, len: usize| {
        part.len() == len
            && part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let nonzero = |part: &str| part.bytes().any(|b| b != b'0');
    hex(version, 2)
        && version != "ff"
        // Version 00 has exactly four fields; later versions may append more.
        && (version != "00" || parts.len() == 4)
        && hex(trace_id, 32)
        && nonzero(trace_id)
        && hex(parent_id, 16)
        && nonzero(parent_id)
        && hex(flags, 2)
}

/// Random, non-zero trace and parent ids (W3C: unique, not secret; see [`new_request_id`]).
fn new_traceparent() -> HeaderValue {
    let trace_id = fastrand::u128(1..);
    let span = fastrand::u64(1..);
    HeaderValue::from_str(&format!("00-{trace_id:032x}-{span:016x}-01"))
        .unwrap_or(HeaderValue::from_static("unknown"))
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
        assert_eq!(ids.traceparent, VALID);
        assert_eq!(ids.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    }

    #[test]
    fn missing_or_bad_ids_are_replaced() {
        for bad in [
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "nonsense",
        ] {
            let long_id = "x".repeat(200);
            let ids = RequestIds::from_headers(&headers(&[
                (&TRACEPARENT, bad),
                (&X_REQUEST_ID, &long_id),
            ]));
            assert_ne!(ids.traceparent, bad);
            assert!(
                valid_traceparent(ids.traceparent.as_bytes()),
                "{:?}",
                ids.traceparent
            );
            assert!(ids.traceparent.as_bytes().ends_with(b"-01"));
            assert_eq!(ids.request_id().len(), 36, "a UUID");
        }
    }

    #[test]
    fn later_versions_may_carry_more_fields() {
        let future = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever";
        assert!(valid_traceparent(future.as_bytes()));
    }
}
