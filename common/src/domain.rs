//! Domain newtypes: each has a private field and a checked constructor, so an invalid id,
//! quantity or key cannot exist past the edge of the system. Serde goes through the same checks.

mod ids;
mod order_id;
mod quantity;
mod text;

pub use ids::{ActivityId, PriceCents, ProductId};
pub use order_id::OrderId;
pub use quantity::Quantity;
pub use text::{IdempotencyKey, Role, UserId};

/// A value that is not a valid domain value; the message says which and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}: {reason}")]
pub struct DomainError {
    /// What was being parsed, e.g. `activity id`.
    pub what: &'static str,
    /// Why it was refused.
    pub reason: &'static str,
}

impl DomainError {
    pub(crate) const fn new(what: &'static str, reason: &'static str) -> Self {
        Self { what, reason }
    }
}

#[cfg(test)]
mod tests;
