//! What one look at the deployment found for one activity: its limits from the catalog, its
//! state in Redis (stock, units per user, orders, outbox backlog) and its rows in the ledger.
//! Plain data: `ledger` and `redis_state` fill it, `drain` and `checks` read it.

use std::collections::HashMap;

use sk_common::events::OrderStatus;

/// Whether an order in `status` holds its units (reserved or paid).
pub fn holds_units(status: OrderStatus) -> bool {
    status != OrderStatus::Cancelled
}

/// One order as one store (Redis or MySQL) holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The order id, as a hyphenated lowercase UUID.
    pub id: String,
    /// The shopper's user id.
    pub user: String,
    /// Units ordered.
    pub quantity: i64,
    /// Its state in that store (`reserved` → `paid` | `cancelled`).
    pub status: OrderStatus,
}

/// The activity's limits (from the MySQL catalog, or the Redis hash when the catalog lacks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Units on sale.
    pub total_stock: i64,
    /// Most non-cancelled units one shopper may hold.
    pub per_user_limit: i64,
}

/// The activity's state in Redis, read in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedisState {
    /// `total` of the activity hash (the stock the Lua scripts count from), if present.
    pub total: Option<i64>,
    /// `remaining` of the activity hash.
    pub remaining: i64,
    /// `per_user_limit` of the activity hash, if present.
    pub per_user_limit: Option<i64>,
    /// `bought`: units held per user.
    pub bought: HashMap<String, i64>,
    /// `orders`: every order, by id.
    pub orders: HashMap<String, Order>,
    /// Entries of `orders` that could not be read, described.
    pub unreadable_orders: Vec<String>,
    /// Entries of `bought` that could not be read, described.
    pub unreadable_bought: Vec<String>,
    /// Entries in the outbox stream not yet relayed.
    pub outbox_backlog: u64,
}

/// Everything the checks look at, taken once the pipeline drained (or the wait gave up).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The activity.
    pub activity_id: u64,
    /// Its limits.
    pub limits: Limits,
    /// Its Redis state.
    pub redis: RedisState,
    /// Its rows in the MySQL ledger.
    pub ledger: Vec<Order>,
}

impl Snapshot {
    /// The stock the Redis scripts count from: the hash's `total`, else the catalog's.
    pub fn redis_total(&self) -> i64 {
        self.redis.total.unwrap_or(self.limits.total_stock)
    }

    /// Units Redis has handed out (`total − remaining`).
    pub fn redis_taken(&self) -> i64 {
        self.redis_total().saturating_sub(self.redis.remaining)
    }

    /// Units of the ledger's rows in `status`.
    pub fn ledger_units(&self, status: OrderStatus) -> i64 {
        self.ledger
            .iter()
            .filter(|o| o.status == status)
            .map(|o| o.quantity)
            .sum()
    }

    /// Units of the ledger's reserved and paid rows.
    pub fn ledger_held_units(&self) -> i64 {
        self.ledger_units(OrderStatus::Reserved) + self.ledger_units(OrderStatus::Paid)
    }
}
