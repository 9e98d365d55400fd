//! Waiting for the pipeline to drain before judging: the activity's outbox stream in Redis is
//! empty and every order in Redis's `orders` hash is in the MySQL ledger with the same status
//! (order-consumer has caught up). Polls two cheap counters (`XLEN`, `HLEN` against a MySQL
//! `COUNT(*)`) and reads the full state only when they say it may have drained, so a sale of
//! 100,000 orders is not read in full five times a second.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::ledger::Ledger;
use super::redis_state::RedisReader;
use super::snapshot::{Limits, Snapshot};

/// Pause between polls.
const POLL: Duration = Duration::from_millis(200);
/// Order ids named in a description of what is missing.
const NAMED: usize = 5;

/// How the wait ended.
#[derive(Debug, Clone)]
pub struct Drain {
    /// The ledger caught up with Redis and the outbox was empty.
    pub drained: bool,
    /// How long the wait took.
    pub waited: Duration,
    /// What was still missing when it ended (empty when drained).
    pub lag: Lag,
}

/// What keeps the ledger from matching Redis.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lag {
    /// Outbox entries not yet relayed to Kafka.
    pub backlog: u64,
    /// Orders in Redis that the ledger lacks.
    pub missing: Vec<String>,
    /// Orders whose ledger status differs from Redis's, as `id (redis X, mysql Y)`.
    pub stale: Vec<String>,
}

impl Lag {
    /// What `snapshot` still lacks.
    pub fn of(snapshot: &Snapshot) -> Self {
        let ledger: HashMap<&str, _> = snapshot
            .ledger
            .iter()
            .map(|o| (o.id.as_str(), o.status))
            .collect();
        let mut lag = Self {
            backlog: snapshot.redis.outbox_backlog,
            ..Self::default()
        };
        for order in snapshot.redis.orders.values() {
            match ledger.get(order.id.as_str()) {
                None => lag.missing.push(order.id.clone()),
                Some(&status) if status != order.status => lag.stale.push(format!(
                    "{} (redis {}, mysql {})",
                    order.id,
                    order.status.as_str(),
                    status.as_str()
                )),
                Some(_) => {}
            }
        }
        lag.missing.sort();
        lag.stale.sort();
        lag
    }

    /// Nothing is missing.
    pub fn is_empty(&self) -> bool {
        self.backlog == 0 && self.missing.is_empty() && self.stale.is_empty()
    }

    /// A sentence naming what is missing (a few order ids of each kind).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.backlog > 0 {
            parts.push(format!("{} outbox entries not relayed", self.backlog));
        }
        if !self.missing.is_empty() {
            parts.push(format!(
                "{} orders in Redis not in MySQL ({})",
                self.missing.len(),
                named(&self.missing)
            ));
        }
        if !self.stale.is_empty() {
            parts.push(format!(
                "{} orders with another status in MySQL ({})",
                self.stale.len(),
                named(&self.stale)
            ));
        }
        parts.join("; ")
    }
}

fn named(items: &[String]) -> String {
    let shown: Vec<&str> = items.iter().take(NAMED).map(String::as_str).collect();
    let shown = shown.join(", ");
    if items.len() > NAMED {
        format!("{shown}, …")
    } else {
        shown
    }
}

/// Polls until the pipeline drained or `timeout` passed, and returns the last full snapshot
/// with how the wait ended.
///
/// # Errors
/// When Redis or MySQL fails.
pub async fn wait(
    redis: &mut RedisReader,
    ledger: &mut Ledger,
    activity_id: u64,
    limits: Limits,
    timeout: Duration,
) -> anyhow::Result<(Snapshot, Drain)> {
    let started = Instant::now();
    loop {
        let timed_out = started.elapsed() >= timeout;
        if timed_out || may_have_drained(redis, ledger, activity_id).await? {
            let snapshot = Snapshot {
                activity_id,
                limits,
                redis: redis.state().await?,
                ledger: ledger.orders(activity_id).await?,
            };
            let lag = Lag::of(&snapshot);
            if lag.is_empty() || timed_out {
                let drain = Drain {
                    drained: lag.is_empty(),
                    waited: started.elapsed(),
                    lag,
                };
                return Ok((snapshot, drain));
            }
        }
        let left = timeout.saturating_sub(started.elapsed());
        tokio::time::sleep(POLL.min(left)).await;
    }
}

/// The cheap necessary condition: nothing waits in the outbox and the ledger has at least as
/// many rows as Redis has orders.
async fn may_have_drained(
    redis: &mut RedisReader,
    ledger: &mut Ledger,
    activity_id: u64,
) -> anyhow::Result<bool> {
    let (backlog, orders) = redis.progress().await?;
    Ok(backlog == 0 && ledger.count(activity_id).await? >= orders)
}

#[cfg(test)]
mod tests {
    use sk_common::events::OrderStatus;

    use super::*;
    use crate::verify::snapshot::{Order, RedisState};

    fn order(id: &str, status: OrderStatus) -> Order {
        Order {
            id: id.into(),
            user: "u-1".into(),
            quantity: 1,
            status,
        }
    }

    #[test]
    fn lag_names_missing_and_stale_orders_and_the_backlog() {
        let mut redis = RedisState {
            outbox_backlog: 2,
            ..RedisState::default()
        };
        for o in [
            order("a", OrderStatus::Paid),
            order("b", OrderStatus::Reserved),
            order("c", OrderStatus::Cancelled),
        ] {
            redis.orders.insert(o.id.clone(), o);
        }
        let snapshot = Snapshot {
            activity_id: 1,
            limits: Limits {
                total_stock: 3,
                per_user_limit: 1,
            },
            redis,
            ledger: vec![
                order("a", OrderStatus::Reserved),
                order("c", OrderStatus::Cancelled),
            ],
        };
        let lag = Lag::of(&snapshot);
        assert!(!lag.is_empty());
        assert_eq!(lag.missing, ["b"]);
        assert_eq!(lag.stale, ["a (redis paid, mysql reserved)"]);
        let text = lag.describe();
        assert!(text.contains("2 outbox entries"), "{text}");
        assert!(
            text.contains("1 orders in Redis not in MySQL (b)"),
            "{text}"
        );
    }

    #[test]
    fn long_lists_are_cut_short() {
        let ids: Vec<String> = (0..7).map(|i| format!("o{i}")).collect();
        assert_eq!(named(&ids), "o0, o1, o2, o3, o4, …");
        assert_eq!(named(&ids[..2]), "o0, o1");
    }
}
