//! The `[jwt]` section of a service's settings: which keys sign and verify, and how long tokens
//! live. Every service reads it under the same name, so its errors name `jwt.*` keys.

use std::collections::HashSet;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::{self, Deserializer};

use crate::settings::{DEV_SECRET_PREFIX, SettingsError, in_range, string_list};

/// Shortest secret accepted, in bytes: HS256 keys shorter than the hash are guessable.
const MIN_SECRET_LEN: usize = 32;
/// Longest token lifetime that may be configured: 30 days.
const MAX_TTL_LIMIT_SECS: u64 = 30 * 24 * 3_600;

/// Keys and token lifetimes. `Debug` never shows a secret.
#[derive(Debug, Clone, Deserialize)]
pub struct JwtSettings {
    /// Id of the key that signs new tokens, sent as the `kid` header: 1-64 letters, digits,
    /// `.`, `_` or `-`.
    pub kid: String,
    /// HS256 secret of that key, at least 32 bytes. Secret.
    pub secret: SecretString,
    /// Earlier keys that still verify (never sign) tokens during a rotation. Written
    /// `kid:secret`, several comma-separated in an environment variable, so a secret cannot
    /// hold a comma.
    #[serde(default, deserialize_with = "previous_keys")]
    pub previous_keys: Vec<PreviousKey>,
    /// Seconds a token lives when the minter does not say.
    pub default_ttl_secs: u64,
    /// Longest lifetime a minter may ask for, in seconds (at most 30 days).
    pub max_ttl_secs: u64,
}

/// A key that verifies but no longer signs.
#[derive(Debug, Clone)]
pub struct PreviousKey {
    /// Its `kid`.
    pub kid: String,
    /// Its HS256 secret. Secret.
    pub secret: SecretString,
}

impl JwtSettings {
    /// Checks key ids, secret lengths and lifetimes.
    ///
    /// # Errors
    /// [`SettingsError::Invalid`] naming the `jwt.*` key; never showing a secret.
    pub fn validate(&self) -> Result<(), SettingsError> {
        check_kid("jwt.kid", &self.kid)?;
        check_secret("jwt.secret", &self.secret)?;
        let mut kids = HashSet::from([self.kid.as_str()]);
        for key in &self.previous_keys {
            check_kid("jwt.previous_keys", &key.kid)?;
            check_secret("jwt.previous_keys", &key.secret)?;
            if !kids.insert(&key.kid) {
                return Err(SettingsError::invalid(
                    "jwt.previous_keys",
                    "every key id must differ from jwt.kid and from the others",
                ));
            }
        }
        in_range("jwt.max_ttl_secs", self.max_ttl_secs, 1, MAX_TTL_LIMIT_SECS)?;
        in_range(
            "jwt.default_ttl_secs",
            self.default_ttl_secs,
            1,
            self.max_ttl_secs,
        )
    }

    /// Whether a development secret from `defaults.toml` is in use (worth a warning).
    #[must_use]
    pub fn uses_dev_secret(&self) -> bool {
        std::iter::once(&self.secret)
            .chain(self.previous_keys.iter().map(|k| &k.secret))
            .any(|s| s.expose_secret().starts_with(DEV_SECRET_PREFIX))
    }

    /// How long a token lives when the minter does not say.
    #[must_use]
    pub const fn default_ttl(&self) -> Duration {
        Duration::from_secs(self.default_ttl_secs)
    }

    /// The longest lifetime a minter may ask for.
    #[must_use]
    pub const fn max_ttl(&self) -> Duration {
        Duration::from_secs(self.max_ttl_secs)
    }
}

fn check_kid(key: &str, kid: &str) -> Result<(), SettingsError> {
    let valid = (1..=64).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(SettingsError::invalid(
            key,
            "a key id is 1-64 letters, digits, '.', '_' or '-'",
        ))
    }
}

fn check_secret(key: &str, secret: &SecretString) -> Result<(), SettingsError> {
    if secret.expose_secret().len() < MIN_SECRET_LEN {
        return Err(SettingsError::invalid(
            key,
            format!("a secret must be at least {MIN_SECRET_LEN} characters"),
        ));
    }
    Ok(())
}

/// `kid:secret` entries, as a TOML list or one comma-separated string. Errors never quote an
/// entry: it holds a secret.
fn previous_keys<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<PreviousKey>, D::Error> {
    string_list(deserializer)?
        .into_iter()
        .map(|entry| {
            let (kid, secret) = entry
                .split_once(':')
                .ok_or_else(|| de::Error::custom("expected kid:secret entries"))?;
            Ok(PreviousKey {
                kid: kid.to_owned(),
                secret: SecretString::from(secret),
            })
        })
        .collect()
}
