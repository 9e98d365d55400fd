use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::DomainError;

/// An order id: a UUIDv7, so ids are unique across instances without coordination and
/// sort by creation time (which keeps the ledger's primary key append-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrderId(Uuid);

impl OrderId {
    /// A fresh id for an order made now.
    #[must_use]
    pub fn generate() -> Self {
        Self(Uuid::now_v7())
    }

    /// Parses the hyphenated form; only version-7 UUIDs are order ids.
    ///
    /// # Errors
    /// When `text` is not a hyphenated UUIDv7.
    pub fn parse(text: &str) -> Result<Self, DomainError> {
        if text.len() != 36 {
            return Err(DomainError::new("order id", "expected a hyphenated UUID"));
        }
        let uuid = Uuid::try_parse(text)
            .map_err(|_| DomainError::new("order id", "expected a hyphenated UUID"))?;
        Self::from_uuid(uuid)
    }

    /// From the 16 bytes stored in MySQL.
    ///
    /// # Errors
    /// When the bytes are not a UUIDv7.
    pub fn from_bytes(bytes: [u8; 16]) -> Result<Self, DomainError> {
        Self::from_uuid(Uuid::from_bytes(bytes))
    }

    fn from_uuid(uuid: Uuid) -> Result<Self, DomainError> {
        if uuid.get_version_num() == 7 {
            Ok(Self(uuid))
        } else {
            Err(DomainError::new("order id", "not a version 7 UUID"))
        }
    }

    /// The 16 bytes stored in MySQL (`BINARY(16)`).
    #[must_use]
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.into_bytes()
    }
}

impl TryFrom<String> for OrderId {
    type Error = DomainError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<OrderId> for String {
    fn from(id: OrderId) -> String {
        id.to_string()
    }
}

impl FromStr for OrderId {
    type Err = DomainError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}
