//! Order events for the unit tests.

#![allow(clippy::unwrap_used)]

use sk_common::domain::{ActivityId, OrderId, PriceCents, Quantity, UserId};
use sk_common::events::{OrderEvent, OrderStatus, SCHEMA_VERSION};

/// A fresh order as reserved at t = 1 s, due at t = 2 s.
pub fn reserved() -> OrderEvent {
    OrderEvent {
        schema_version: SCHEMA_VERSION,
        order_id: OrderId::generate(),
        activity_id: ActivityId::new(1).unwrap(),
        user_id: UserId::parse("u-1").unwrap(),
        quantity: Quantity::ONE,
        price_cents: PriceCents::new(100).unwrap(),
        status: OrderStatus::Reserved,
        reserved_at_ms: 1_000,
        expires_at_ms: 2_000,
        changed_at_ms: 1_000,
        cancel_reason: None,
    }
}
