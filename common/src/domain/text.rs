//! Identifiers that are text: user ids (JWT `sub`) and idempotency keys. Both end up in Redis
//! keys, MySQL columns and logs, so their alphabet and length are bounded.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::DomainError;

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr, $allowed:expr, $rule:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Longest accepted value, in bytes.
            pub const MAX_LEN: usize = $max;

            /// Checks length and alphabet.
            ///
            /// # Errors
            /// When `text` is empty, too long or has a character outside the alphabet.
            pub fn parse(text: &str) -> Result<Self, DomainError> {
                let allowed: fn(u8) -> bool = $allowed;
                if text.is_empty() || text.len() > Self::MAX_LEN || !text.bytes().all(allowed) {
                    return Err(DomainError::new($what, $rule));
                }
                Ok(Self(text.to_owned()))
            }

            /// The text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(text: String) -> Result<Self, Self::Error> {
                Self::parse(&text)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl FromStr for $name {
            type Err = DomainError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::parse(text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

bounded_text!(
    /// A user id, as carried in a verified JWT's `sub`.
    UserId, "user id", 64,
    |b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'@'),
    "1-64 letters, digits or - _ . : @"
);
bounded_text!(
    /// The `Idempotency-Key` of a purchase: the same key from the same user means the same order.
    IdempotencyKey, "idempotency key", 128,
    |b| b.is_ascii_graphic(),
    "1-128 visible ASCII characters"
);

/// Who a token speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Buys things.
    Shopper,
    /// Runs sales.
    Admin,
}

impl FromStr for Role {
    type Err = DomainError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "shopper" => Ok(Self::Shopper),
            "admin" => Ok(Self::Admin),
            _ => Err(DomainError::new("role", "expected shopper or admin")),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Shopper => "shopper",
            Self::Admin => "admin",
        })
    }
}
