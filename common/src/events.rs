//! The order lifecycle events on Kafka topic `sk.orders` (key = order id).
//!
//! Every event carries the whole order as it stands after the transition, not a diff, so a
//! consumer can apply any event on its own: a replay, a duplicate from a relay takeover or an
//! event seen before its predecessor all converge on the same row, because status only moves
//! forward (`reserved` → `paid` | `cancelled`).

use serde::{Deserialize, Serialize};

use crate::domain::{ActivityId, OrderId, PriceCents, Quantity, UserId};

/// The version of [`OrderEvent`]'s JSON; a consumer refuses versions it does not know.
pub const SCHEMA_VERSION: u32 = 1;

/// Kafka header with the relay's fencing token (decimal): which lock holder produced the event.
pub const FENCE_HEADER: &str = "sk-fence";

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Units are held until the payment deadline.
    Reserved,
    /// Paid before the deadline; final.
    Paid,
    /// Cancelled by the shopper or expired; the units went back to stock. Final.
    Cancelled,
}

impl OrderStatus {
    /// The name used in JSON, Redis and MySQL.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Reserved => "reserved",
            Self::Paid => "paid",
            Self::Cancelled => "cancelled",
        }
    }

    /// Parses the name used in JSON, Redis and MySQL.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "reserved" => Some(Self::Reserved),
            "paid" => Some(Self::Paid),
            "cancelled" => Some(Self::Cancelled),
            _ => None,
        }
    }
}

/// Why a reservation was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// The shopper cancelled.
    Cancelled,
    /// The payment deadline passed.
    Expired,
}

impl CancelReason {
    /// The name used in JSON, Redis and MySQL.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cancelled => "cancelled",
            Self::Expired => "expired",
        }
    }

    /// Parses the name used in JSON, Redis and MySQL.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "cancelled" => Some(Self::Cancelled),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
}

/// One order transition, as produced to Kafka (JSON, `schema_version` 1). Unknown fields are
/// ignored, so a producer may add optional fields without a new version during a rolling deploy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEvent {
    /// Always [`SCHEMA_VERSION`] when produced by this build.
    pub schema_version: u32,
    /// The order, which is also the Kafka key.
    pub order_id: OrderId,
    /// The flash sale it belongs to.
    pub activity_id: ActivityId,
    /// The shopper who holds it.
    pub user_id: UserId,
    /// Units reserved.
    pub quantity: Quantity,
    /// Price of one unit at reservation time.
    pub price_cents: PriceCents,
    /// Status after this transition.
    pub status: OrderStatus,
    /// When the units were reserved (Unix milliseconds, Redis clock).
    pub reserved_at_ms: u64,
    /// Payment deadline (Unix milliseconds, Redis clock).
    pub expires_at_ms: u64,
    /// When this transition happened (Unix milliseconds, Redis clock).
    pub changed_at_ms: u64,
    /// Set when `status` is `cancelled`.
    pub cancel_reason: Option<CancelReason>,
}

/// An order as its owner sees it: the reply of sk-core's order lookup and the items of
/// sk-app's `GET /api/v1/orders` (one shape, so both answers always agree).
#[derive(Debug, Clone, Serialize)]
pub struct OrderView {
    /// The order.
    pub order_id: OrderId,
    activity_id: ActivityId,
    quantity: Quantity,
    price_cents: u64,
    status: OrderStatus,
    reserved_at: String,
    expires_at: String,
    cancel_reason: Option<CancelReason>,
}

impl From<OrderEvent> for OrderView {
    fn from(order: OrderEvent) -> Self {
        Self {
            order_id: order.order_id,
            activity_id: order.activity_id,
            quantity: order.quantity,
            price_cents: order.price_cents.get(),
            status: order.status,
            reserved_at: crate::time::rfc3339_from_ms(order.reserved_at_ms),
            expires_at: crate::time::rfc3339_from_ms(order.expires_at_ms),
            cancel_reason: order.cancel_reason,
        }
    }
}

/// Why bytes from the topic are not an event this build can apply (a permanent failure).
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("event is not valid JSON for schema {SCHEMA_VERSION}: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("event has schema_version {0}; this build understands {SCHEMA_VERSION}")]
    UnknownVersion(u32),
    #[error("event is inconsistent: {0}")]
    Inconsistent(&'static str),
}

impl OrderEvent {
    /// The JSON produced to Kafka.
    ///
    /// # Errors
    /// Never in practice: every field serialises.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// Parses and checks an event read from Kafka.
    ///
    /// # Errors
    /// [`EventError`] when the payload is not a consistent version-1 event.
    pub fn from_json(bytes: &[u8]) -> Result<Self, EventError> {
        #[derive(Deserialize)]
        struct Version {
            schema_version: u32,
        }
        let version: Version = serde_json::from_slice(bytes)?;
        if version.schema_version != SCHEMA_VERSION {
            return Err(EventError::UnknownVersion(version.schema_version));
        }
        let event: Self = serde_json::from_slice(bytes)?;
        event.check()?;
        Ok(event)
    }

    fn check(&self) -> Result<(), EventError> {
        let cancelled = self.status == OrderStatus::Cancelled;
        if cancelled != self.cancel_reason.is_some() {
            return Err(EventError::Inconsistent(
                "cancel_reason must be set exactly when status is cancelled",
            ));
        }
        if self.expires_at_ms < self.reserved_at_ms || self.changed_at_ms < self.reserved_at_ms {
            return Err(EventError::Inconsistent(
                "timestamps must not precede reserved_at_ms",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn reserved() -> OrderEvent {
        OrderEvent {
            schema_version: SCHEMA_VERSION,
            order_id: OrderId::generate(),
            activity_id: ActivityId::new(7).unwrap(),
            user_id: UserId::parse("u-1").unwrap(),
            quantity: Quantity::ONE,
            price_cents: PriceCents::new(999).unwrap(),
            status: OrderStatus::Reserved,
            reserved_at_ms: 1_000,
            expires_at_ms: 901_000,
            changed_at_ms: 1_000,
            cancel_reason: None,
        }
    }

    #[test]
    fn an_event_survives_the_round_trip() {
        let event = reserved();
        let json = event.to_json().unwrap();
        assert_eq!(OrderEvent::from_json(&json).unwrap(), event);
        let text = String::from_utf8(json).unwrap();
        assert!(text.contains(r#""schema_version":1"#), "{text}");
        assert!(text.contains(r#""status":"reserved""#), "{text}");
    }

    #[test]
    fn unknown_versions_and_garbage_are_refused() {
        let mut event = reserved();
        event.schema_version = 2;
        let json = event.to_json().unwrap();
        assert!(matches!(
            OrderEvent::from_json(&json),
            Err(EventError::UnknownVersion(2))
        ));
        assert!(matches!(
            OrderEvent::from_json(b"not json"),
            Err(EventError::Malformed(_))
        ));
        let zero = br#"{"schema_version":1,"order_id":"x"}"#;
        assert!(matches!(
            OrderEvent::from_json(zero),
            Err(EventError::Malformed(_))
        ));
    }

    #[test]
    fn a_cancelled_event_needs_a_reason() {
        let mut event = reserved();
        event.status = OrderStatus::Cancelled;
        let json = event.to_json().unwrap();
        assert!(matches!(
            OrderEvent::from_json(&json),
            Err(EventError::Inconsistent(_))
        ));
        event.cancel_reason = Some(CancelReason::Expired);
        assert!(OrderEvent::from_json(&event.to_json().unwrap()).is_ok());
    }
}
