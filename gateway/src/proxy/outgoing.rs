//! The request as sent upstream: the body read within the limit, hop-by-hop headers dropped,
//! `X-Forwarded-For` rewritten, the request id and trace context set.

use std::net::SocketAddr;

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use sk_common::forwarded::{TrustedProxies, X_FORWARDED_FOR};

use crate::edge::Client;
use crate::error::{Error, Result};
use crate::ids::{RequestIds, TRACEPARENT, X_REQUEST_ID};

/// Headers that describe one connection, never the request (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

/// Removes the hop-by-hop headers, those the `Connection` header names included, and
/// `Upgrade` (the gateway does not tunnel protocols).
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::try_from(name.trim()).ok())
        .collect();
    for name in HOP_BY_HOP.iter().chain(&named) {
        headers.remove(name);
    }
    headers.remove(header::UPGRADE);
}

/// Reads the whole body, refusing more than `limit` bytes before anything is forwarded
/// (bodies here are small JSON documents; buffering them also lets a GET be retried).
///
/// # Errors
/// [`Error::PayloadTooLarge`] (a `Content-Length` over the limit is refused unread) or
/// [`Error::BadBody`] when the client stopped sending.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|len| len > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(Error::PayloadTooLarge { limit });
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            Err(Error::PayloadTooLarge { limit })
        }
        Err(e) => Err(Error::BadBody(e.to_string())),
    }
}

/// Everything needed to send (and resend) the request to any instance.
#[derive(Debug)]
pub struct Outgoing {
    method: Method,
    path_and_query: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Outgoing {
    /// The client's request, cleaned for forwarding.
    #[must_use]
    pub fn new(
        parts: &Parts,
        body: Bytes,
        client: &Client,
        ids: &RequestIds,
        trusted: &TrustedProxies,
    ) -> Self {
        let mut headers = parts.headers.clone();
        strip_hop_by_hop(&mut headers);
        // The client library names the instance; the length follows the buffered body.
        headers.remove(header::HOST);
        headers.remove(header::CONTENT_LENGTH);
        headers.insert(
            X_FORWARDED_FOR,
            trusted.forwarded_for(client.peer, &parts.headers),
        );
        headers.insert(X_REQUEST_ID, ids.request_id.clone());
        // The gateway's span is the parent upstream; without one, the client's context goes on.
        let traceparent = sk_common::trace::current().unwrap_or(ids.traceparent);
        if let Ok(value) = HeaderValue::from_str(&traceparent.to_string()) {
            headers.insert(TRACEPARENT, value);
        }
        let path_and_query = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), ToString::to_string);
        Self {
            method: parts.method.clone(),
            path_and_query,
            headers,
            body,
        }
    }

    /// The method, to decide whether a retry is safe.
    #[must_use]
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request for the instance at `addr`.
    ///
    /// # Errors
    /// When the path does not form a URI with that address (it came from a parsed URI).
    pub fn to(&self, addr: SocketAddr) -> Result<Request<Full<Bytes>>, axum::http::Error> {
        let mut builder = Request::builder()
            .method(self.method.clone())
            .uri(format!("http://{addr}{}", self.path_and_query));
        if let Some(headers) = builder.headers_mut() {
            headers.clone_from(&self.headers);
        }
        builder.body(Full::new(self.body.clone()))
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_dropped() {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("connection", "keep-alive, x-secret-hop"),
            ("keep-alive", "timeout=5"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("x-secret-hop", "1"),
            ("authorization", "Bearer t"),
        ] {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        strip_hop_by_hop(&mut headers);
        let left: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, vec!["authorization"]);
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused() {
        let mut headers = HeaderMap::new();
        let small = read_body(&headers, Body::from("12345"), 5).await;
        assert_eq!(small.ok(), Some(Bytes::from_static(b"12345")));
        let big = read_body(&headers, Body::from("123456"), 5).await;
        assert!(matches!(big, Err(Error::PayloadTooLarge { limit: 5 })));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("6"));
        let declared = read_body(&headers, Body::empty(), 5).await;
        assert!(matches!(declared, Err(Error::PayloadTooLarge { .. })));
    }
}
