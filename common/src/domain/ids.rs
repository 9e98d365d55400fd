//! Numeric identifiers and amounts (MySQL `BIGINT UNSIGNED` columns, `AUTO_INCREMENT` ids).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::DomainError;

/// Parses a decimal without sign, spaces or leading zeros into `u64`.
fn parse_decimal(text: &str, what: &'static str) -> Result<u64, DomainError> {
    let canonical = !text.is_empty()
        && text.len() <= 20
        && text.bytes().all(|b| b.is_ascii_digit())
        && !(text.len() > 1 && text.starts_with('0'));
    if !canonical {
        return Err(DomainError::new(what, "expected a decimal number"));
    }
    text.parse()
        .map_err(|_| DomainError::new(what, "too large"))
}

macro_rules! bounded_number {
    ($(#[$doc:meta])* $name:ident, $what:literal, $min:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "u64", into = "u64")]
        pub struct $name(u64);

        impl $name {
            /// Smallest valid value.
            pub const MIN: u64 = $min;
            /// Largest valid value.
            pub const MAX: u64 = $max;

            /// Checks the bounds.
            ///
            /// # Errors
            /// When `value` is out of range.
            pub const fn new(value: u64) -> Result<Self, DomainError> {
                if value < Self::MIN || value > Self::MAX {
                    Err(DomainError::new($what, "out of range"))
                } else {
                    Ok(Self(value))
                }
            }

            /// Parses the canonical decimal form (as found in a URL path).
            ///
            /// # Errors
            /// When `text` is not a canonical decimal or is out of range.
            pub fn parse(text: &str) -> Result<Self, DomainError> {
                Self::new(parse_decimal(text, $what)?)
            }

            /// The number.
            #[must_use]
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl TryFrom<u64> for $name {
            type Error = DomainError;
            fn try_from(value: u64) -> Result<Self, Self::Error> {
                Self::new(value)
            }
        }

        impl From<$name> for u64 {
            fn from(value: $name) -> u64 {
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
                self.0.fmt(f)
            }
        }
    };
}

// Ids stay within i64 so they survive every MySQL client and JSON number parser we know of.
bounded_number!(
    /// The id of a flash sale.
    ActivityId, "activity id", 1, i64::MAX as u64
);
bounded_number!(
    /// The id of a catalog product.
    ProductId, "product id", 1, i64::MAX as u64
);
bounded_number!(
    /// A price in the smallest currency unit; at most 10^12 (ten billion in whole units).
    PriceCents, "price", 0, 1_000_000_000_000
);
