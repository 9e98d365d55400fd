//! Stock decisions in Redis: the key layout of an activity and the Lua scripts that reserve,
//! pay, cancel and expire orders atomically.
//!
//! Every key of one activity shares the hash tag `{<activity_id>}`, so an activity lives in one
//! Redis Cluster slot and each script touches one slot. Each script checks everything first
//! and changes nothing when a check fails; each transition appends the whole order to the
//! activity's outbox stream, which the relay in sk-core produces to Kafka.

mod outbox;
mod scripts;

use redis::aio::ConnectionLike;

pub use outbox::{
    OUTBOX_CONSUMER, OUTBOX_GROUP, OutboxEntryError, ack_relayed, decode_outbox_entry,
    next_stream_id,
};
pub use scripts::RESERVE_SOURCE;

use crate::domain::{ActivityId, IdempotencyKey, OrderId, PriceCents, Quantity, UserId};
use crate::events::{CancelReason, OrderStatus};
use crate::{Error, Result};

/// How long the order-id → activity index outlives a reservation (lookups by order id only).
const ORDER_INDEX_TTL_SECS: u64 = 30 * 24 * 3600;

/// The Redis names of one activity (all in the slot of `{<activity_id>}`).
#[derive(Debug, Clone)]
pub struct ActivityKeys {
    activity_id: ActivityId,
    /// activity, bought, idem, orders, deadlines, outbox, rate: the order scripts' `KEYS`.
    script_keys: [String; 7],
    base: String,
}

impl ActivityKeys {
    /// The keys of `activity_id` under `prefix` (e.g. `sk`).
    #[must_use]
    pub fn new(prefix: &str, activity_id: ActivityId) -> Self {
        let base = format!("{prefix}:{{{activity_id}}}");
        let script_keys = [
            "activity",
            "bought",
            "idem",
            "orders",
            "deadlines",
            "outbox",
            "rate",
        ]
        .map(|name| format!("{base}:{name}"));
        Self {
            activity_id,
            script_keys,
            base,
        }
    }

    /// The activity these keys belong to.
    #[must_use]
    pub const fn activity_id(&self) -> ActivityId {
        self.activity_id
    }

    /// The order scripts' `KEYS`, in order (see the top of `lua/order.lua`): for running the
    /// scripts outside sk-core (benchmarks) and for deleting an activity's state.
    #[must_use]
    pub const fn script_keys(&self) -> &[String; 7] {
        &self.script_keys
    }

    /// Hash with the activity's settings and `remaining` stock.
    #[must_use]
    pub fn activity(&self) -> &str {
        &self.script_keys[0]
    }

    /// Hash of units held per user.
    #[must_use]
    pub fn bought(&self) -> &str {
        &self.script_keys[1]
    }

    /// Sorted set of reserved orders by payment deadline.
    #[must_use]
    pub fn deadlines(&self) -> &str {
        &self.script_keys[4]
    }

    /// Hash of orders (order id → packed record).
    #[must_use]
    pub fn orders(&self) -> &str {
        &self.script_keys[3]
    }

    /// Stream of order transitions waiting for the relay.
    #[must_use]
    pub fn outbox(&self) -> &str {
        &self.script_keys[5]
    }

    /// Stream of outbox entries the relay could not encode (kept for a person to inspect).
    #[must_use]
    pub fn outbox_dead_letters(&self) -> String {
        format!("{}:outbox-dead", self.base)
    }

    /// The lock that makes one relay at a time the owner of this activity's outbox.
    #[must_use]
    pub fn relay_lock(&self) -> String {
        format!("{}:relay-lock", self.base)
    }
}

/// How an activity is configured for selling (written by sk-admin; by tests directly).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivitySpec {
    /// Selling is possible only while open (and inside the time window).
    pub open: bool,
    /// First millisecond of the sale (Unix).
    pub start_at_ms: u64,
    /// First millisecond after the sale (Unix).
    pub end_at_ms: u64,
    /// Units for sale.
    pub total_stock: u32,
    /// Most non-cancelled units one user may hold.
    pub per_user_limit: u32,
    /// How long a reservation waits for payment.
    pub payment_timeout_ms: u64,
    /// Price of one unit.
    pub price_cents: PriceCents,
    /// Most units sold per second, if capped.
    pub max_sold_per_sec: Option<u32>,
}

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

/// An order as Redis holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    /// The order.
    pub order_id: OrderId,
    /// Its activity.
    pub activity_id: ActivityId,
    /// Who holds it.
    pub user_id: UserId,
    /// Units.
    pub quantity: Quantity,
    /// Unit price.
    pub price_cents: PriceCents,
    /// Where it stands.
    pub status: OrderStatus,
    /// Reserved at (Unix ms, Redis clock).
    pub reserved_at_ms: u64,
    /// Payment deadline (Unix ms, Redis clock).
    pub expires_at_ms: u64,
    /// Last transition (Unix ms, Redis clock).
    pub changed_at_ms: u64,
    /// Why it was cancelled, when it was.
    pub cancel_reason: Option<CancelReason>,
}

/// A request to reserve units.
#[derive(Debug, Clone)]
pub struct ReserveRequest<'a> {
    /// The id the new order gets (made by the caller: UUIDv7).
    pub order_id: OrderId,
    /// The buyer (from a verified token).
    pub user_id: &'a UserId,
    /// Units.
    pub quantity: Quantity,
    /// The same key from the same user returns the same order.
    pub idempotency_key: Option<&'a IdempotencyKey>,
}

/// The stock operations of every activity under one key prefix.
#[derive(Debug, Clone)]
pub struct Inventory {
    prefix: String,
    stock_channel: String,
}

impl Inventory {
    /// Operations on the keys under `prefix` (e.g. `sk`).
    #[must_use]
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_owned(),
            stock_channel: format!("{prefix}:stock-events"),
        }
    }

    /// The keys of one activity.
    #[must_use]
    pub fn keys(&self, activity_id: ActivityId) -> ActivityKeys {
        ActivityKeys::new(&self.prefix, activity_id)
    }

    /// The set of activities that have Redis state (the relay and the reaper walk it).
    #[must_use]
    pub fn registry(&self) -> String {
        format!("{}:activities", self.prefix)
    }

    /// The pub/sub channel announcing sold-out (`remaining` 0) and restocked activities.
    #[must_use]
    pub fn stock_channel(&self) -> &str {
        &self.stock_channel
    }

    fn order_index(&self, order_id: OrderId) -> String {
        format!("{}:order:{order_id}", self.prefix)
    }

    /// Writes an activity's settings, sets its stock if it has none yet, and registers it.
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn put_activity<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        activity_id: ActivityId,
        spec: &ActivitySpec,
    ) -> Result<()> {
        let keys = self.keys(activity_id);
        let status = if spec.open { "open" } else { "closed" };
        redis::pipe()
            .atomic()
            .hset_multiple(
                keys.activity(),
                &[
                    ("status", status.to_owned()),
                    ("start_ms", spec.start_at_ms.to_string()),
                    ("end_ms", spec.end_at_ms.to_string()),
                    ("total", spec.total_stock.to_string()),
                    ("per_user_limit", spec.per_user_limit.to_string()),
                    ("payment_timeout_ms", spec.payment_timeout_ms.to_string()),
                    ("price_cents", spec.price_cents.to_string()),
                    (
                        "max_sold_per_sec",
                        spec.max_sold_per_sec.unwrap_or(0).to_string(),
                    ),
                ],
            )
            .ignore()
            .hset_nx(keys.activity(), "remaining", spec.total_stock)
            .ignore()
            .sadd(self.registry(), activity_id.get())
            .ignore()
            .query_async::<()>(conn)
            .await?;
        Ok(())
    }

    /// The registered activities.
    ///
    /// # Errors
    /// When Redis fails or holds something that is not an activity id.
    pub async fn activities<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
    ) -> Result<Vec<ActivityId>> {
        let ids: Vec<u64> = redis::cmd("SMEMBERS")
            .arg(self.registry())
            .query_async(conn)
            .await?;
        Ok(ids
            .into_iter()
            .filter_map(|id| ActivityId::new(id).ok())
            .collect())
    }

    /// Units left, or `None` for an unknown activity.
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn remaining<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        activity_id: ActivityId,
    ) -> Result<Option<i64>> {
        let remaining = redis::cmd("HGET")
            .arg(self.keys(activity_id).activity())
            .arg("remaining")
            .query_async(conn)
            .await?;
        Ok(remaining)
    }

    /// Runs the reserve script: all checks, then the whole reservation, or nothing.
    ///
    /// # Errors
    /// When Redis fails or answers something unexpected.
    pub async fn reserve<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        activity_id: ActivityId,
        request: &ReserveRequest<'_>,
    ) -> Result<ReserveOutcome> {
        let keys = self.keys(activity_id);
        let idempotency = request
            .idempotency_key
            .map(|key| idempotency_field(request.user_id, key))
            .unwrap_or_default();
        let answer: Vec<String> = scripts::RESERVE
            .key(&keys.script_keys)
            .arg(request.order_id.to_string())
            .arg(request.user_id.as_str())
            .arg(request.quantity.get())
            .arg(idempotency)
            .arg(activity_id.get())
            .arg(&self.stock_channel)
            .invoke_async(conn)
            .await?;
        let outcome = parse_reserve(&answer)?;
        if let ReserveOutcome::Reserved(reservation) = outcome {
            self.index_order(conn, reservation.order_id, activity_id)
                .await?;
        }
        Ok(outcome)
    }

    /// Remembers which activity an order belongs to, for lookups by order id alone. Written
    /// after the reservation (a separate slot); if this fails the caller answers 5xx and the
    /// unacknowledged reservation simply expires.
    async fn index_order<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        order_id: OrderId,
        activity_id: ActivityId,
    ) -> Result<()> {
        redis::cmd("SET")
            .arg(self.order_index(order_id))
            .arg(activity_id.get())
            .arg("EX")
            .arg(ORDER_INDEX_TTL_SECS)
            .query_async::<()>(conn)
            .await?;
        Ok(())
    }

    /// The activity an order belongs to, if it is known.
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn activity_of<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        order_id: OrderId,
    ) -> Result<Option<ActivityId>> {
        let id: Option<u64> = redis::cmd("GET")
            .arg(self.order_index(order_id))
            .query_async(conn)
            .await?;
        Ok(id.and_then(|id| ActivityId::new(id).ok()))
    }

    /// Pays a reserved order; `quantity` and `expires_at_ms` come from its verified token.
    ///
    /// # Errors
    /// When Redis fails or answers something unexpected.
    pub async fn pay<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        activity_id: ActivityId,
        order: &Reservation,
        user_id: &UserId,
    ) -> Result<PayOutcome> {
        let answer: Vec<String> = scripts::PAY
            .key(&self.keys(activity_id).script_keys)
            .arg(order.order_id.to_string())
            .arg(user_id.as_str())
            .arg(order.quantity.get())
            .arg(order.expires_at_ms)
            .arg(activity_id.get())
            .arg(&self.stock_channel)
            .invoke_async(conn)
            .await?;
        match first(&answer)? {
            "paid" => Ok(PayOutcome::Paid),
            "not_found" => Ok(PayOutcome::NotFound),
            "cancelled" => Ok(PayOutcome::Cancelled),
            "expired" => Ok(PayOutcome::Expired),
            other => Err(unexpected("pay", other)),
        }
    }

    /// Cancels a reserved order of `user_id` and returns its units.
    ///
    /// # Errors
    /// When Redis fails or answers something unexpected.
    pub async fn cancel<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        activity_id: ActivityId,
        order_id: OrderId,
        user_id: &UserId,
    ) -> Result<CancelOutcome> {
        let answer: Vec<String> = scripts::CANCEL
            .key(&self.keys(activity_id).script_keys)
            .arg(order_id.to_string())
            .arg(user_id.as_str())
            .arg(activity_id.get())
            .arg(&self.stock_channel)
            .invoke_async(conn)
            .await?;
        match first(&answer)? {
            "cancelled" => Ok(CancelOutcome::Cancelled),
            "not_found" => Ok(CancelOutcome::NotFound),
            "already_paid" => Ok(CancelOutcome::AlreadyPaid),
            other => Err(unexpected("cancel", other)),
        }
    }

    /// Expires a reserved order whose deadline has passed (Redis clock).
    ///
    /// # Errors
    /// When Redis fails or answers something unexpected.
    pub async fn expire<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        activity_id: ActivityId,
        order_id: &str,
    ) -> Result<ExpireOutcome> {
        let answer: Vec<String> = scripts::EXPIRE
            .key(&self.keys(activity_id).script_keys)
            .arg(order_id)
            .arg(activity_id.get())
            .arg(&self.stock_channel)
            .invoke_async(conn)
            .await?;
        match first(&answer)? {
            "expired" => Ok(ExpireOutcome::Expired),
            "not_due" => Ok(ExpireOutcome::NotDue),
            "settled" => Ok(ExpireOutcome::Settled),
            other => Err(unexpected("expire", other)),
        }
    }

    /// Reserved orders of an activity whose deadline is at or before `now_ms`, oldest first.
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn overdue<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        activity_id: ActivityId,
        now_ms: u64,
        limit: usize,
    ) -> Result<Vec<String>> {
        let ids = redis::cmd("ZRANGE")
            .arg(self.keys(activity_id).deadlines())
            .arg("-inf")
            .arg(now_ms)
            .arg("BYSCORE")
            .arg("LIMIT")
            .arg(0)
            .arg(limit)
            .query_async(conn)
            .await?;
        Ok(ids)
    }

    /// An order as Redis holds it, if it exists.
    ///
    /// # Errors
    /// When Redis fails or holds a record this build cannot read.
    pub async fn order<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        activity_id: ActivityId,
        order_id: OrderId,
    ) -> Result<Option<OrderRecord>> {
        let answer: Vec<String> = scripts::ORDER_STATUS
            .key(&self.keys(activity_id).script_keys)
            .arg(order_id.to_string())
            .invoke_async(conn)
            .await?;
        if answer.is_empty() {
            return Ok(None);
        }
        parse_record(order_id, activity_id, &answer).map(Some)
    }
}

/// The idempotency hash field: length-prefixed so no two (user, key) pairs collide.
fn idempotency_field(user: &UserId, key: &IdempotencyKey) -> String {
    format!("{}:{}:{}", user.as_str().len(), user, key)
}

fn parse_reserve(answer: &[String]) -> Result<ReserveOutcome> {
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
fn parse_record(
    order_id: OrderId,
    activity_id: ActivityId,
    answer: &[String],
) -> Result<OrderRecord> {
    let bad = |what: &str| unexpected("order_status", what);
    let field = |i: usize| answer.get(i).map(String::as_str).unwrap_or_default();
    let number = |i: usize| field(i).parse::<u64>().map_err(|_| bad("not a number"));
    Ok(OrderRecord {
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

fn first(answer: &[String]) -> Result<&str> {
    answer
        .first()
        .map(String::as_str)
        .ok_or_else(|| unexpected("script", "an empty answer"))
}

fn unexpected(script: &str, what: &str) -> Error {
    Error::UnexpectedAnswer(format!("{script} script returned {what}"))
}
