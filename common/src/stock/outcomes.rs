//! What the order scripts decide, and reading their answers.

use crate::domain::{ActivityId, OrderId, PriceCents, Quantity, UserId};
use crate::events::{CancelReason, OrderEvent, OrderStatus, SCHEMA_VERSION};
use crate::{Error, Result};

/// A reservation the shopper holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// The order.
    pub order_id: OrderId,
    /// Units held.
    pub quantity: Quantity,
    /// Payment deadline (Unix milliseconds, Redis clock).
    pub expires_at_ms: u64,
}

/// Why a reservation was refused (nothing changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// No such activity in Redis.
    ActivityNotFound,
    /// Closed by an admin.
    Closed,
    /// Before `start_at`.
    NotStarted,
    /// At or after `end_at`.
    Ended,
    /// The user would hold more than the per-user limit.
    LimitExceeded,
    /// Fewer units left than asked for.
    SoldOut,
    /// The per-second sold cap is reached for this second.
    RateCapped,
}

impl Rejection {
    /// A stable snake_case name (metrics labels, logs).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ActivityNotFound => "activity_not_found",
            Self::Closed => "closed",
            Self::NotStarted => "not_started",
            Self::Ended => "ended",
            Self::LimitExceeded => "limit_exceeded",
            Self::SoldOut => "sold_out",
            Self::RateCapped => "rate_capped",
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a reserve call decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReserveOutcome {
    /// A new order holds the units.
    Reserved(Reservation),
    /// The idempotency key was used before: the earlier order, as it stands now.
    Repeated(Reservation, OrderStatus),
    /// Refused; nothing changed.
    Rejected(Rejection),
}

/// What a pay call decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayOutcome {
    /// Paid now or before.
    Paid,
    /// No such order for this user (or the token's terms do not match it).
    NotFound,
    /// The shopper cancelled it.
    Cancelled,
    /// The deadline passed; the units went back to stock.
    Expired,
}

/// What a cancel call decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// Cancelled now or before (or expired); the units are back in stock.
    Cancelled,
    /// No such order for this user.
    NotFound,
    /// Paid orders cannot be cancelled.
    AlreadyPaid,
}

/// What the reaper's expire call decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireOutcome {
    /// Expired now; the units went back to stock.
    Expired,
    /// Its deadline has not passed.
    NotDue,
    /// Already paid or cancelled (dropped from the deadline set).
    Settled,
}

pub(super) fn parse_reserve(answer: &[String]) -> Result<ReserveOutcome> {
    let rejection = match first(answer)? {
        "ok" => return Ok(ReserveOutcome::Reserved(parse_reservation(answer)?)),
        "duplicate" => {
            let status = answer
                .get(4)
                .and_then(|s| OrderStatus::parse(s))
                .ok_or_else(|| unexpected("reserve", "duplicate without a status"))?;
            return Ok(ReserveOutcome::Repeated(parse_reservation(answer)?, status));
        }
        "activity_not_found" => Rejection::ActivityNotFound,
        "closed" => Rejection::Closed,
        "not_started" => Rejection::NotStarted,
        "ended" => Rejection::Ended,
        "limit_exceeded" => Rejection::LimitExceeded,
        "sold_out" => Rejection::SoldOut,
        "rate_capped" => Rejection::RateCapped,
        other => return Err(unexpected("reserve", other)),
    };
    Ok(ReserveOutcome::Rejected(rejection))
}

/// `[code, order_id, expires_ms, qty, …]`
fn parse_reservation(answer: &[String]) -> Result<Reservation> {
    let field = |i: usize| answer.get(i).map(String::as_str).unwrap_or_default();
    let order_id = OrderId::parse(field(1)).map_err(|e| unexpected("reserve", &e.to_string()))?;
    let expires_at_ms = field(2)
        .parse()
        .map_err(|_| unexpected("reserve", "expiry is not a number"))?;
    let quantity = field(3)
        .parse()
        .ok()
        .and_then(|q| Quantity::new(q).ok())
        .ok_or_else(|| unexpected("reserve", "quantity out of range"))?;
    Ok(Reservation {
        order_id,
        quantity,
        expires_at_ms,
    })
}

/// `[status, user, qty, reserved_ms, expires_ms, changed_ms, reason, price_cents]`
pub(super) fn parse_record(
    order_id: OrderId,
    activity_id: ActivityId,
    answer: &[String],
) -> Result<OrderEvent> {
    let bad = |what: &str| unexpected("order_status", what);
    let field = |i: usize| answer.get(i).map(String::as_str).unwrap_or_default();
    let number = |i: usize| field(i).parse::<u64>().map_err(|_| bad("not a number"));
    Ok(OrderEvent {
        schema_version: SCHEMA_VERSION,
        order_id,
        activity_id,
        status: OrderStatus::parse(field(0)).ok_or_else(|| bad("unknown status"))?,
        user_id: UserId::parse(field(1)).map_err(|_| bad("bad user id"))?,
        quantity: Quantity::new(u32::try_from(number(2)?).unwrap_or(0))
            .map_err(|_| bad("bad quantity"))?,
        reserved_at_ms: number(3)?,
        expires_at_ms: number(4)?,
        changed_at_ms: number(5)?,
        cancel_reason: CancelReason::parse(field(6)),
        price_cents: PriceCents::new(number(7)?).map_err(|_| bad("bad price"))?,
    })
}

pub(super) fn first(answer: &[String]) -> Result<&str> {
    answer
        .first()
        .map(String::as_str)
        .ok_or_else(|| unexpected("script", "an empty answer"))
}

pub(super) fn unexpected(script: &str, what: &str) -> Error {
    Error::UnexpectedAnswer(format!("{script} script returned {what}"))
}
