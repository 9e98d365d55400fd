//! Where an activity lives in Redis, and how it is configured for selling.

use crate::domain::{ActivityId, PriceCents};

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

    /// Hash of idempotency keys used (user and key → order id).
    #[must_use]
    pub fn idempotency(&self) -> &str {
        &self.script_keys[2]
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
    /// Share of purchase attempts sk-app lets through, in parts per million (1..=1,000,000).
    /// Only sk-app reads it; sk-core's decisions do not depend on it.
    pub buy_rate_ppm: u32,
}

/// All attempts admitted (`buy_rate` 1.0).
pub const BUY_RATE_ALL_PPM: u32 = 1_000_000;
