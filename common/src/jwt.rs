//! JSON Web Tokens for shoppers and admins: HS256 only, each header naming its key (`kid`) so
//! keys can rotate. Service-agnostic: sk-admin mints and checks admin tokens, sk-app checks
//! shopper tokens, with the same [`JwtKeys`].
//!
//! A token carries `sub` (a [`UserId`]), `role` ([`Role`]), `iat` and `exp` (Unix seconds).
//! New tokens are signed with the current key; the current key and every key under
//! `previous_keys` verify. A rotation: make the new key current and list the old one under
//! `previous_keys`; drop it once the last token it signed has expired (`max_ttl_secs` later).
//!
//! [`JwtKeys::verify`] refuses, before any signature is computed, a token longer than
//! [`MAX_TOKEN_LEN`], any algorithm but HS256 (`none` included: an unsigned token never gets
//! near the key) and a `kid` it does not know; then a wrong signature, an expired token, and
//! claims that are missing or are not valid domain values.

mod settings;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

pub use settings::{JwtSettings, PreviousKey};

use crate::domain::{Role, UserId};

/// Longest token accepted, in bytes: ours are about 250, and anything far larger is refused
/// before it is decoded.
pub const MAX_TOKEN_LEN: usize = 4096;

/// The one algorithm issued and accepted.
const ALGORITHM: Algorithm = Algorithm::HS256;

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who the token speaks for.
    pub sub: UserId,
    /// What they may do.
    pub role: Role,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expires at, Unix seconds: the token is refused after this second.
    pub exp: u64,
}

/// When a token is valid, in Unix seconds. Several tokens minted together share one, so they
/// report one expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// `iat`.
    pub issued_at: u64,
    /// `exp`.
    pub expires_at: u64,
}

/// Why a bearer token was refused. Every variant means 401 to a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    #[error("no bearer token")]
    Missing,
    #[error("the token is malformed")]
    Malformed,
    #[error("the token is not signed with HS256")]
    UnsupportedAlgorithm,
    #[error("the token names no key this service knows")]
    UnknownKey,
    #[error("the token's signature does not match")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token's claims are missing or invalid")]
    InvalidClaims,
}

/// Why a token could not be minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MintError {
    #[error("ttl must be between 1 and {max_secs} seconds")]
    InvalidTtl {
        /// The configured `max_ttl_secs`.
        max_secs: u64,
    },
    #[error("cannot sign the token: {0}")]
    Signing(String),
}

/// Signs with the current key and verifies with the current and previous keys. Cheap to clone.
#[derive(Clone)]
pub struct JwtKeys(Arc<KeyRing>);

struct KeyRing {
    /// HS256 with the current key's `kid`.
    header: Header,
    signing: EncodingKey,
    /// By `kid`: the current key and the previous ones.
    verifying: HashMap<String, DecodingKey>,
    validation: Validation,
    default_ttl: Duration,
    max_ttl: Duration,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kids: Vec<&String> = self.0.verifying.keys().collect();
        kids.sort();
        f.debug_struct("JwtKeys")
            .field("signing_kid", &self.0.header.kid)
            .field("verifying_kids", &kids)
            .finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// The keys of `settings`, validated.
    ///
    /// # Errors
    /// [`crate::Error::Settings`] naming the `jwt.*` key that is wrong.
    pub fn new(settings: &JwtSettings) -> crate::Result<Self> {
        settings.validate()?;
        // jsonwebtoken infers its crypto backend from its features and panics at first use
        // when a dependency also turns on the other backend; choosing explicitly rules that
        // out. An error only means a provider is installed already, which is as good.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(settings.kid.clone());
        let previous = settings.previous_keys.iter().map(|k| (&k.kid, &k.secret));
        let verifying = std::iter::once((&settings.kid, &settings.secret))
            .chain(previous)
            .map(|(kid, secret)| (kid.clone(), decoding_key(secret)))
            .collect();
        let mut validation = Validation::new(ALGORITHM);
        // Expired means expired: no grace period (jsonwebtoken's default is 60 s).
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Ok(Self(Arc::new(KeyRing {
            header,
            signing: EncodingKey::from_secret(settings.secret.expose_secret().as_bytes()),
            verifying,
            validation,
            default_ttl: settings.default_ttl(),
            max_ttl: settings.max_ttl(),
        })))
    }

    /// A token for `sub` as `role`, valid from now for `ttl` (the configured default when
    /// `None`).
    ///
    /// # Errors
    /// [`MintError::InvalidTtl`] when `ttl` is under a second or over the configured maximum.
    pub fn mint(
        &self,
        sub: &UserId,
        role: Role,
        ttl: Option<Duration>,
    ) -> Result<String, MintError> {
        self.sign(sub, role, self.validity(ttl)?)
    }

    /// Validity from now for `ttl` (the configured default when `None`).
    ///
    /// # Errors
    /// [`MintError::InvalidTtl`] when `ttl` is under a second or over the configured maximum.
    pub fn validity(&self, ttl: Option<Duration>) -> Result<Validity, MintError> {
        let ttl_secs = ttl.unwrap_or(self.0.default_ttl).as_secs();
        let max_secs = self.0.max_ttl.as_secs();
        if !(1..=max_secs).contains(&ttl_secs) {
            return Err(MintError::InvalidTtl { max_secs });
        }
        let issued_at = crate::time::now_ms() / 1_000;
        Ok(Validity {
            issued_at,
            expires_at: issued_at + ttl_secs,
        })
    }

    /// A token for `sub` as `role` with exactly `validity` (no bounds checked: callers that
    /// take a ttl from outside go through [`Self::validity`]).
    ///
    /// # Errors
    /// [`MintError::Signing`] if the crypto backend fails (it does not for HS256).
    pub fn sign(&self, sub: &UserId, role: Role, validity: Validity) -> Result<String, MintError> {
        let claims = Claims {
            sub: sub.clone(),
            role,
            iat: validity.issued_at,
            exp: validity.expires_at,
        };
        jsonwebtoken::encode(&self.0.header, &claims, &self.0.signing)
            .map_err(|e| MintError::Signing(e.to_string()))
    }

    /// The claims of `token` if one of our keys signed it with HS256 and it has not expired.
    ///
    /// # Errors
    /// [`JwtError`] saying why the token is refused.
    pub fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::Malformed);
        }
        let kid = checked_kid(token)?;
        let key = self.0.verifying.get(&kid).ok_or(JwtError::UnknownKey)?;
        jsonwebtoken::decode::<Claims>(token, key, &self.0.validation)
            .map(|data| data.claims)
            .map_err(|e| refusal(e.kind()))
    }

    /// The claims of the request's `Authorization: Bearer <token>` (the scheme in any case).
    ///
    /// # Errors
    /// [`JwtError::Missing`] without a bearer token, otherwise as [`Self::verify`].
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Claims, JwtError> {
        self.verify(bearer_token(headers)?)
    }
}

fn decoding_key(secret: &SecretString) -> DecodingKey {
    DecodingKey::from_secret(secret.expose_secret().as_bytes())
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, JwtError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(JwtError::Missing)?
        .to_str()
        .map_err(|_| JwtError::Malformed)?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Some(token.trim())
            .filter(|t| !t.is_empty())
            .ok_or(JwtError::Malformed),
        _ => Err(JwtError::Missing),
    }
}

/// The header fields read before any key is chosen.
#[derive(Deserialize)]
struct UncheckedHeader {
    alg: String,
    kid: Option<String>,
}

/// The token's `kid`, once its header says HS256. Read here rather than by jsonwebtoken,
/// which cannot parse `alg: none` and would call that token merely malformed.
fn checked_kid(token: &str) -> Result<String, JwtError> {
    let (encoded, _) = token.split_once('.').ok_or(JwtError::Malformed)?;
    let json = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| JwtError::Malformed)?;
    let header: UncheckedHeader = serde_json::from_slice(&json).map_err(|_| JwtError::Malformed)?;
    if header.alg != "HS256" {
        return Err(JwtError::UnsupportedAlgorithm);
    }
    header.kid.ok_or(JwtError::UnknownKey)
}

fn refusal(kind: &ErrorKind) -> JwtError {
    match kind {
        ErrorKind::InvalidSignature => JwtError::BadSignature,
        ErrorKind::ExpiredSignature => JwtError::Expired,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::UnsupportedAlgorithm => JwtError::UnsupportedAlgorithm,
        ErrorKind::Json(_)
        | ErrorKind::MissingRequiredClaim(_)
        | ErrorKind::InvalidClaimFormat(_)
        | ErrorKind::InvalidAudience
        | ErrorKind::InvalidIssuer
        | ErrorKind::InvalidSubject
        | ErrorKind::ImmatureSignature => JwtError::InvalidClaims,
        _ => JwtError::Malformed,
    }
}

#[cfg(test)]
mod tests;
