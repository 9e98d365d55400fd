//! Stock decisions in Redis: the key layout of an activity and the Lua scripts that reserve,
//! pay, cancel and expire orders atomically.
//!
//! Every key of one activity shares the hash tag `{<activity_id>}`, so an activity lives in one
//! Redis Cluster slot and each script touches one slot. Each script checks everything first
//! and changes nothing when a check fails; each transition appends the whole order to the
//! activity's outbox stream, which the relay in sk-core produces to Kafka. sk-app reads an
//! activity's selling state back with [`Inventory::activity_state`].

mod keys;
mod outbox;
mod outcomes;
mod scripts;
mod state;

use redis::aio::ConnectionLike;

pub use keys::{ActivityKeys, ActivitySpec, BUY_RATE_ALL_PPM};
pub use outbox::{
    OUTBOX_CONSUMER, OUTBOX_GROUP, OutboxEntryError, ack_relayed, decode_outbox_entry, entry_cause,
    entry_trace, next_stream_id,
};
pub use outcomes::{
    CancelOutcome, ExpireOutcome, PayOutcome, Rejection, Reservation, ReserveOutcome,
};
pub use scripts::RESERVE_SOURCE;
pub use state::ActivityState;

use outcomes::{first, parse_record, parse_reserve, unexpected};

use crate::Result;
use crate::domain::{ActivityId, IdempotencyKey, OrderId, Quantity, UserId};
use crate::events::{OrderEvent, OrderStatus};
use crate::signing::Nonce;

/// How long the order-id → activity index outlives a reservation (lookups by order id only).
const ORDER_INDEX_TTL_SECS: u64 = 30 * 24 * 3600;

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

    /// The mark of a signed internal call sk-core has served, by the call's nonce: its replay
    /// guard sets it (`SET NX`, expiring after twice the freshness window) and refuses a call
    /// whose mark exists. Not an activity's key, so without a hash tag: one key per command.
    #[must_use]
    pub fn served_call(&self, nonce: Nonce) -> String {
        format!("{}:nonce:{nonce}", self.prefix)
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
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.put_activity_commands(&mut pipe, activity_id, spec);
        pipe.hset_nx(
            self.keys(activity_id).activity(),
            "remaining",
            spec.total_stock,
        )
        .ignore();
        pipe.query_async::<()>(conn).await?;
        Ok(())
    }

    /// Settings and registration (not the stock counter) of an activity.
    fn put_activity_commands(
        &self,
        pipe: &mut redis::Pipeline,
        activity_id: ActivityId,
        spec: &ActivitySpec,
    ) {
        let status = if spec.open { "open" } else { "closed" };
        pipe.hset_multiple(
            self.keys(activity_id).activity(),
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
                ("buy_rate_ppm", spec.buy_rate_ppm.to_string()),
            ],
        )
        .ignore();
        pipe.sadd(self.registry(), activity_id.get()).ignore();
    }

    /// Rebuilds an activity whose Redis state was lost, from the ledger: its settings, the
    /// stock left (`remaining`), what each user holds, and every reserved or paid order (reserved
    /// ones back in the deadline set, so they can still be paid or expire). One transaction.
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn restore_activity<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        activity_id: ActivityId,
        spec: &ActivitySpec,
        remaining: i64,
        orders: &[OrderEvent],
    ) -> Result<()> {
        let keys = self.keys(activity_id);
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.del(keys.activity()).ignore();
        pipe.del(keys.bought()).ignore();
        pipe.del(keys.deadlines()).ignore();
        self.put_activity_commands(&mut pipe, activity_id, spec);
        pipe.hset(keys.activity(), "remaining", remaining).ignore();
        for order in orders.iter().filter(|o| o.status != OrderStatus::Cancelled) {
            let id = order.order_id.to_string();
            pipe.hincr(keys.bought(), order.user_id.as_str(), order.quantity.get())
                .ignore();
            pipe.hset(keys.orders(), &id, order_record(order)).ignore();
            if order.status == OrderStatus::Reserved {
                pipe.zadd(keys.deadlines(), &id, order.expires_at_ms)
                    .ignore();
            }
        }
        pipe.query_async::<()>(conn).await?;
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
            .key(keys.script_keys())
            .arg(request.order_id.to_string())
            .arg(request.user_id.as_str())
            .arg(request.quantity.get())
            .arg(idempotency)
            .arg(activity_id.get())
            .arg(&self.stock_channel)
            .arg(trace_context())
            .invoke_async(conn)
            .await?;
        let outcome = parse_reserve(&answer)?;
        // A repeat indexes again: the call that made the order may have died between its
        // script and its index, and the shopper's retry is then the only one left to write it.
        if let ReserveOutcome::Reserved(reservation) | ReserveOutcome::Repeated(reservation, _) =
            outcome
        {
            self.index_order(conn, reservation.order_id, activity_id)
                .await?;
        }
        Ok(outcome)
    }

    /// Remembers which activity an order belongs to, for lookups by order id alone. Written
    /// after the reservation (a separate slot); if this fails the caller answers 5xx, and the
    /// reservation either expires unacknowledged or is indexed by the shopper's retry.
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

    /// Whether `user` already made an order on `activity_id` under the idempotency `key` (a
    /// retry of it would get that order back).
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn knows_idempotency_key<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        activity_id: ActivityId,
        user: &UserId,
        key: &IdempotencyKey,
    ) -> Result<bool> {
        let known: bool = redis::cmd("HEXISTS")
            .arg(self.keys(activity_id).idempotency())
            .arg(idempotency_field(user, key))
            .query_async(conn)
            .await?;
        Ok(known)
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
            .key(self.keys(activity_id).script_keys())
            .arg(order.order_id.to_string())
            .arg(user_id.as_str())
            .arg(order.quantity.get())
            .arg(order.expires_at_ms)
            .arg(activity_id.get())
            .arg(&self.stock_channel)
            .arg(trace_context())
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
            .key(self.keys(activity_id).script_keys())
            .arg(order_id.to_string())
            .arg(user_id.as_str())
            .arg(activity_id.get())
            .arg(&self.stock_channel)
            .arg(trace_context())
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
            .key(self.keys(activity_id).script_keys())
            .arg(order_id)
            .arg(activity_id.get())
            .arg(&self.stock_channel)
            .arg(trace_context())
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

    /// An order as Redis holds it now, if it exists, in the whole-order shape the outbox carries.
    ///
    /// # Errors
    /// When Redis fails or holds a record this build cannot read.
    pub async fn order<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        activity_id: ActivityId,
        order_id: OrderId,
    ) -> Result<Option<OrderEvent>> {
        let answer: Vec<String> = scripts::ORDER_STATUS
            .key(self.keys(activity_id).script_keys())
            .arg(order_id.to_string())
            .invoke_async(conn)
            .await?;
        if answer.is_empty() {
            return Ok(None);
        }
        parse_record(order_id, activity_id, &answer).map(Some)
    }

    /// `user`'s order `order_id`, found through the order-id index: `None` when it is not
    /// known or belongs to someone else (who must not learn that it exists).
    ///
    /// # Errors
    /// When Redis fails or holds something unreadable.
    pub async fn order_of_user<C: ConnectionLike + Send>(
        &self,
        conn: &mut C,
        order_id: OrderId,
        user: &UserId,
    ) -> Result<Option<OrderEvent>> {
        let Some(activity_id) = self.activity_of(conn, order_id).await? else {
            return Ok(None);
        };
        let order = self.order(conn, activity_id, order_id).await?;
        Ok(order.filter(|o| &o.user_id == user))
    }
}

/// The current span's trace context for the outbox entry a transition writes, so the order's
/// life stays one trace through the relay and the consumer ('' when there is none).
fn trace_context() -> String {
    crate::trace::current()
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// The idempotency hash field: length-prefixed so no two (user, key) pairs collide.
fn idempotency_field(user: &UserId, key: &IdempotencyKey) -> String {
    format!("{}:{}:{}", user.as_str().len(), user, key)
}

/// An order as `order.lua` stores it: `status|user|qty|reserved_ms|expires_ms|changed_ms|reason`
/// (without the purchase's trace context, which the ledger does not keep).
fn order_record(order: &OrderEvent) -> String {
    format!(
        "{}|{}|{}|{}|{}|{}|{}",
        order.status.as_str(),
        order.user_id,
        order.quantity,
        order.reserved_at_ms,
        order.expires_at_ms,
        order.changed_at_ms,
        order.cancel_reason.map_or("", |r| r.as_str()),
    )
}
