//! HMAC-SHA256 signatures on internal calls (sk-app → sk-core).
//!
//! The caller signs `METHOD \n PATH?QUERY \n TIMESTAMP_MS \n NONCE \n hex(SHA-256(body))` with
//! a shared secret and sends the timestamp, the nonce and the hex signature in headers. The
//! receiver recomputes the signature (constant-time comparison) and refuses timestamps outside
//! its freshness window, so a captured request cannot be altered in any signed part or sent
//! later. Every call has a nonce of its own, so no two genuine calls share a signature (not
//! even two alike in every other part within one millisecond) and the receiver can refuse a
//! nonce it has already served: a copy sent again within the window (see sk-core's replay
//! guard).

mod nonce;

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

pub use nonce::Nonce;

/// Header with the signing time, Unix milliseconds.
pub const TIMESTAMP_HEADER: &str = "x-sk-timestamp";
/// Header with the call's nonce, 32 lowercase hex digits.
pub const NONCE_HEADER: &str = "x-sk-nonce";
/// Header with the hex HMAC-SHA256 signature.
pub const SIGNATURE_HEADER: &str = "x-sk-signature";

/// Why a request's signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request is not signed (a signature header is missing)")]
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

/// What tells one signed call from every other: when it was signed, and its nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallStamp {
    /// Signing time, Unix milliseconds.
    pub timestamp_ms: u64,
    /// New for every call, retries included.
    pub nonce: Nonce,
}

impl CallStamp {
    /// The stamp of a call made now, with a fresh nonce.
    #[must_use]
    pub fn now() -> Self {
        Self {
            timestamp_ms: crate::time::now_ms(),
            nonce: Nonce::generate(),
        }
    }
}

/// The signature headers a request arrived with (`None` for each one that is absent or not
/// text).
#[derive(Debug, Clone, Copy, Default)]
pub struct PresentedSignature<'a> {
    /// [`TIMESTAMP_HEADER`].
    pub timestamp: Option<&'a str>,
    /// [`NONCE_HEADER`].
    pub nonce: Option<&'a str>,
    /// [`SIGNATURE_HEADER`].
    pub signature: Option<&'a str>,
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

    /// The hex signature of `parts` sent with `stamp`.
    #[must_use]
    pub fn sign(&self, parts: SignedParts<'_>, stamp: CallStamp) -> String {
        hex::encode(self.mac(parts, stamp).finalize().into_bytes())
    }

    /// The headers that sign `parts` sent with `stamp` (name, value): timestamp, nonce and
    /// signature.
    #[must_use]
    pub fn headers(&self, parts: SignedParts<'_>, stamp: CallStamp) -> [(&'static str, String); 3] {
        [
            (TIMESTAMP_HEADER, stamp.timestamp_ms.to_string()),
            (NONCE_HEADER, stamp.nonce.to_string()),
            (SIGNATURE_HEADER, self.sign(parts, stamp)),
        ]
    }

    /// Checks the `presented` headers against `parts`, accepting timestamps within
    /// `max_skew_ms` of `now_ms` either way; the call's nonce once it is proven genuine (the
    /// caller decides whether that nonce was already served).
    ///
    /// # Errors
    /// [`SignatureError`] saying what is wrong.
    pub fn verify(
        &self,
        parts: SignedParts<'_>,
        presented: PresentedSignature<'_>,
        now_ms: u64,
        max_skew_ms: u64,
    ) -> Result<Nonce, SignatureError> {
        let PresentedSignature {
            timestamp: Some(timestamp),
            nonce: Some(nonce),
            signature: Some(signature),
        } = presented
        else {
            return Err(SignatureError::Missing);
        };
        let timestamp_ms: u64 = timestamp.parse().map_err(|_| SignatureError::Malformed)?;
        let nonce = Nonce::parse(nonce)?;
        let signature = hex::decode(signature).map_err(|_| SignatureError::Malformed)?;
        if now_ms.abs_diff(timestamp_ms) > max_skew_ms {
            return Err(SignatureError::Stale);
        }
        let stamp = CallStamp {
            timestamp_ms,
            nonce,
        };
        self.mac(parts, stamp)
            .verify_slice(&signature)
            .map_err(|_| SignatureError::Mismatch)?;
        Ok(nonce)
    }

    fn mac(&self, parts: SignedParts<'_>, stamp: CallStamp) -> Hmac<Sha256> {
        let mut mac = hmac_sha256(&self.secret);
        let body_digest = hex::encode(Sha256::digest(parts.body));
        for (i, part) in [
            parts.method,
            parts.path_and_query,
            &stamp.timestamp_ms.to_string(),
            &stamp.nonce.to_string(),
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

    fn nonce(text: &str) -> Nonce {
        Nonce::parse(text).unwrap()
    }

    fn stamp(timestamp_ms: u64) -> CallStamp {
        CallStamp {
            timestamp_ms,
            nonce: nonce("00112233445566778899aabbccddeeff"),
        }
    }

    /// The headers of `stamp` with `sig`, checked at `now` with a 5 s window.
    fn check(
        signer: &RequestSigner,
        parts: SignedParts<'_>,
        stamp: CallStamp,
        sig: &str,
        now: u64,
    ) -> Result<Nonce, SignatureError> {
        let (timestamp, nonce) = (stamp.timestamp_ms.to_string(), stamp.nonce.to_string());
        let presented = PresentedSignature {
            timestamp: Some(&timestamp),
            nonce: Some(&nonce),
            signature: Some(sig),
        };
        signer.verify(parts, presented, now, 5_000)
    }

    #[test]
    fn a_signed_request_verifies_and_yields_its_nonce() {
        let s = signer("shared secret");
        let sig = s.sign(PARTS, stamp(1_000_000));
        assert_eq!(
            check(&s, PARTS, stamp(1_000_000), &sig, 1_004_000),
            Ok(stamp(0).nonce)
        );
    }

    #[test]
    fn the_signed_message_is_the_documented_one() {
        // README: HMAC-SHA256 over METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nhex(SHA-256(body)).
        let secret = SecretString::from("shared secret");
        let message = format!(
            "POST\n/internal/v1/activities/1/reserve\n1000000\n00112233445566778899aabbccddeeff\n{}",
            hex::encode(Sha256::digest(PARTS.body))
        );
        let mut mac = hmac_sha256(&secret);
        mac.update(message.as_bytes());
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(
            RequestSigner::new(secret).sign(PARTS, stamp(1_000_000)),
            expected
        );
    }

    #[test]
    fn the_headers_carry_the_stamp_and_its_signature() {
        let s = signer("shared secret");
        let headers = s.headers(PARTS, stamp(1_000_000));
        assert_eq!(
            headers,
            [
                (TIMESTAMP_HEADER, "1000000".to_owned()),
                (NONCE_HEADER, "00112233445566778899aabbccddeeff".to_owned()),
                (SIGNATURE_HEADER, s.sign(PARTS, stamp(1_000_000))),
            ]
        );
    }

    #[test]
    fn every_signed_part_matters() {
        let s = signer("shared secret");
        let sig = s.sign(PARTS, stamp(1_000_000));
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
                check(&s, parts, stamp(1_000_000), &sig, 1_000_000),
                Err(SignatureError::Mismatch)
            );
        }
        assert_eq!(
            check(&s, PARTS, stamp(1_000_001), &sig, 1_000_000),
            Err(SignatureError::Mismatch)
        );
        let other_nonce = CallStamp {
            nonce: nonce("00112233445566778899aabbccddeef0"),
            ..stamp(1_000_000)
        };
        assert_eq!(
            check(&s, PARTS, other_nonce, &sig, 1_000_000),
            Err(SignatureError::Mismatch),
            "a nonce swapped for another"
        );
        assert_eq!(
            check(&signer("other"), PARTS, stamp(1_000_000), &sig, 1_000_000),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn calls_alike_in_the_same_millisecond_differ_by_their_nonces() {
        let s = signer("shared secret");
        let (first, second) = (CallStamp::now(), CallStamp::now());
        let twin = CallStamp {
            timestamp_ms: first.timestamp_ms,
            ..second
        };
        assert_ne!(first.nonce, twin.nonce);
        assert_ne!(s.sign(PARTS, first), s.sign(PARTS, twin));
        let now = first.timestamp_ms;
        for call in [first, twin] {
            let sig = s.sign(PARTS, call);
            assert_eq!(check(&s, PARTS, call, &sig, now), Ok(call.nonce));
        }
    }

    #[test]
    fn stale_missing_and_malformed_are_refused() {
        let s = signer("shared secret");
        let sig = s.sign(PARTS, stamp(1_000_000));
        assert_eq!(
            check(&s, PARTS, stamp(1_000_000), &sig, 1_005_001),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            check(&s, PARTS, stamp(1_000_000), &sig, 994_999),
            Err(SignatureError::Stale)
        );
        let nonce = stamp(0).nonce.to_string();
        let (t, n, g) = (Some("1000000"), Some(nonce.as_str()), Some(sig.as_str()));
        let verify = |timestamp, nonce, signature| {
            let presented = PresentedSignature {
                timestamp,
                nonce,
                signature,
            };
            s.verify(PARTS, presented, 1_000_000, 5_000)
        };
        assert_eq!(verify(t, n, g), Ok(stamp(0).nonce));
        let missing = [
            ("no timestamp", None, n, g),
            ("no nonce", t, None, g),
            ("no signature", t, n, None),
            ("nothing", None, None, None),
        ];
        for (what, timestamp, nonce, signature) in missing {
            let refusal = verify(timestamp, nonce, signature);
            assert_eq!(refusal, Err(SignatureError::Missing), "{what}");
        }
        let malformed = [
            ("timestamp not a number", Some("soon"), n, g),
            ("signature not hex", t, n, Some("zz")),
            ("nonce too short", t, Some("0011"), g),
            (
                "nonce not hex",
                t,
                Some("x0112233445566778899aabbccddeeff"),
                g,
            ),
            (
                "nonce in capitals",
                t,
                Some("00112233445566778899AABBCCDDEEFF"),
                g,
            ),
        ];
        for (what, timestamp, nonce, signature) in malformed {
            let refusal = verify(timestamp, nonce, signature);
            assert_eq!(refusal, Err(SignatureError::Malformed), "{what}");
        }
    }
}
