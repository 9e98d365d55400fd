//! HMAC-SHA256 signatures on internal calls (sk-app → sk-core).
//!
//! The caller signs `METHOD \n PATH?QUERY \n TIMESTAMP_MS \n hex(SHA-256(body))` with a shared
//! secret and sends the timestamp and the hex signature in headers. The receiver recomputes the
//! signature (constant-time comparison) and refuses timestamps outside its freshness window, so
//! a captured request cannot be replayed later or altered in any signed part.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Header with the signing time, Unix milliseconds.
pub const TIMESTAMP_HEADER: &str = "x-sk-timestamp";
/// Header with the hex HMAC-SHA256 signature.
pub const SIGNATURE_HEADER: &str = "x-sk-signature";

/// Why a request's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request is not signed")]
    Missing,
    #[error("the signature headers are malformed")]
    Malformed,
    #[error("the request timestamp is outside the accepted window")]
    Stale,
    #[error("the signature does not match the request")]
    Mismatch,
}

/// A request to sign or check.
#[derive(Debug, Clone, Copy)]
pub struct SignedParts<'a> {
    /// `GET`, `POST`, …
    pub method: &'a str,
    /// Path and query as sent, e.g. `/internal/v1/orders/…?user_id=u1`.
    pub path_and_query: &'a str,
    /// The request body (empty for none).
    pub body: &'a [u8],
}

/// Signs and verifies with one shared secret.
#[derive(Clone)]
pub struct RequestSigner {
    secret: SecretString,
}

impl std::fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestSigner").finish_non_exhaustive()
    }
}

impl RequestSigner {
    /// A signer with `secret`.
    #[must_use]
    pub const fn new(secret: SecretString) -> Self {
        Self { secret }
    }

    /// The hex signature of `parts` at `timestamp_ms`.
    #[must_use]
    pub fn sign(&self, parts: SignedParts<'_>, timestamp_ms: u64) -> String {
        hex::encode(self.mac(parts, timestamp_ms).finalize().into_bytes())
    }

    /// Checks the headers' values against `parts`, accepting timestamps within `max_skew_ms`
    /// of `now_ms` either way.
    ///
    /// # Errors
    /// [`SignatureError`] saying what is wrong.
    pub fn verify(
        &self,
        parts: SignedParts<'_>,
        timestamp: Option<&str>,
        signature: Option<&str>,
        now_ms: u64,
        max_skew_ms: u64,
    ) -> Result<(), SignatureError> {
        let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
            return Err(SignatureError::Missing);
        };
        let timestamp_ms: u64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
        let signature = hex::decode(signature).map_err(|_| SignatureError::Malformed)?;
        if now_ms.abs_diff(timestamp_ms) > max_skew_ms {
            return Err(SignatureError::Stale);
        }
        self.mac(parts, timestamp_ms)
            .verify_slice(&signature)
            .map_err(|_| SignatureError::Mismatch)
    }

    fn mac(&self, parts: SignedParts<'_>, timestamp_ms: u64) -> Hmac<Sha256> {
        let mut mac = hmac_sha256(&self.secret);
        let body_digest = hex::encode(Sha256::digest(parts.body));
        for (i, part) in [
            parts.method,
            parts.path_and_query,
            &timestamp_ms.to_string(),
            &body_digest,
        ]
        .iter()
        .enumerate()
        {
            if i > 0 {
                mac.update(b"\n");
            }
            mac.update(part.as_bytes());
        }
        mac
    }
}

/// An HMAC-SHA256 keyed with `secret`.
pub(crate) fn hmac_sha256(secret: &SecretString) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(secret: &str) -> RequestSigner {
        RequestSigner::new(SecretString::from(secret))
    }

    const PARTS: SignedParts<'static> = SignedParts {
        method: "POST",
        path_and_query: "/internal/v1/activities/1/reserve",
        body: br#"{"user_id":"u1","quantity":1}"#,
    };

    fn check(
        signer: &RequestSigner,
        parts: SignedParts<'_>,
        ts: u64,
        sig: &str,
        now: u64,
    ) -> Result<(), SignatureError> {
        signer.verify(parts, Some(&ts.to_string()), Some(sig), now, 5_000)
    }

    #[test]
    fn a_signed_request_verifies() {
        let s = signer("shared secret");
        let sig = s.sign(PARTS, 1_000_000);
        assert_eq!(check(&s, PARTS, 1_000_000, &sig, 1_004_000), Ok(()));
    }

    #[test]
    fn every_signed_part_matters() {
        let s = signer("shared secret");
        let sig = s.sign(PARTS, 1_000_000);
        let changed = [
            SignedParts {
                method: "GET",
                ..PARTS
            },
            SignedParts {
                path_and_query: "/internal/v1/activities/2/reserve",
                ..PARTS
            },
            SignedParts {
                body: br#"{"user_id":"u2","quantity":1}"#,
                ..PARTS
            },
        ];
        for parts in changed {
            assert_eq!(
                check(&s, parts, 1_000_000, &sig, 1_000_000),
                Err(SignatureError::Mismatch)
            );
        }
        assert_eq!(
            check(&s, PARTS, 1_000_001, &sig, 1_000_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            check(&signer("other"), PARTS, 1_000_000, &sig, 1_000_000),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn stale_missing_and_malformed_are_refused() {
        let s = signer("shared secret");
        let sig = s.sign(PARTS, 1_000_000);
        assert_eq!(
            check(&s, PARTS, 1_000_000, &sig, 1_005_001),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            check(&s, PARTS, 1_000_000, &sig, 994_999),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            s.verify(PARTS, None, Some(&sig), 0, 5_000),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            s.verify(PARTS, Some("soon"), Some(&sig), 0, 5_000),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            s.verify(PARTS, Some("1"), Some("zz"), 1, 5_000),
            Err(SignatureError::Malformed)
        );
    }
}
