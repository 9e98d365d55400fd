//! Redis reads for `verify`: one activity's keys (`sk_common::stock::ActivityKeys`) — the
//! activity hash (`total`, `remaining`, `per_user_limit`), `bought` (user → units held),
//! `orders` (order id → `status|user|qty|reserved_ms|expires_ms|changed_ms|reason`, see the
//! header of `common/lua/order.lua`) and the length of the `outbox` stream.

use std::collections::HashMap;

use anyhow::{Context as _, bail};
use redis::aio::MultiplexedConnection;
use sk_common::domain::ActivityId;
use sk_common::events::OrderStatus;
use sk_common::stock::{ActivityKeys, Inventory};

use super::snapshot::{Order, RedisState};

/// Hash contents as Redis returns them.
type Hash = HashMap<String, String>;

/// Reads one activity's state from the services' Redis.
#[derive(Debug)]
pub struct RedisReader {
    conn: MultiplexedConnection,
    keys: ActivityKeys,
}

impl RedisReader {
    /// Connects to `url` and addresses `activity_id`'s keys under `prefix`.
    ///
    /// # Errors
    /// When the URL is malformed or Redis cannot be reached.
    pub async fn connect(url: &str, prefix: &str, activity_id: ActivityId) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).context("the Redis URL is not valid")?;
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .context("cannot connect to Redis")?;
        let keys = Inventory::new(prefix).keys(activity_id);
        Ok(Self { conn, keys })
    }

    /// The outbox backlog and the number of orders (two cheap counters, for polling the drain).
    ///
    /// # Errors
    /// When Redis fails.
    pub async fn progress(&mut self) -> anyhow::Result<(u64, u64)> {
        redis::pipe()
            .xlen(self.keys.outbox())
            .hlen(self.keys.orders())
            .query_async(&mut self.conn)
            .await
            .context("cannot read the outbox and order counts from Redis")
    }

    /// The whole state, read in one MULTI/EXEC so stock, `bought` and `orders` agree with each
    /// other (a purchase or expiry in between would otherwise look like a breach).
    ///
    /// # Errors
    /// When Redis fails, holds no state for the activity (wrong prefix?) or a stock field is
    /// not a number.
    pub async fn state(&mut self) -> anyhow::Result<RedisState> {
        let (activity, bought, orders, backlog): (Hash, Hash, Hash, u64) = redis::pipe()
            .atomic()
            .hgetall(self.keys.activity())
            .hgetall(self.keys.bought())
            .hgetall(self.keys.orders())
            .xlen(self.keys.outbox())
            .query_async(&mut self.conn)
            .await
            .context("cannot read the activity's state from Redis")?;
        if activity.is_empty() {
            bail!(
                "Redis holds no activity at {} (is the key prefix right?)",
                self.keys.activity()
            );
        }
        parse_state(&activity, bought, orders, backlog)
    }
}

/// The state from the raw hashes: stock fields must be numbers (else an error), unreadable
/// `bought` or `orders` entries are kept as descriptions for the checks to report.
pub fn parse_state(
    activity: &Hash,
    bought: Hash,
    orders: Hash,
    outbox_backlog: u64,
) -> anyhow::Result<RedisState> {
    let Some(remaining) = number_field(activity, "remaining")? else {
        bail!("the Redis activity hash has no `remaining`");
    };
    let mut state = RedisState {
        total: number_field(activity, "total")?,
        remaining,
        per_user_limit: number_field(activity, "per_user_limit")?,
        outbox_backlog,
        ..RedisState::default()
    };
    for (user, units) in bought {
        match units.parse::<i64>() {
            Ok(units) => {
                state.bought.insert(user, units);
            }
            Err(_) => state
                .unreadable_bought
                .push(format!("bought[{user}] is {units:?}, not a number")),
        }
    }
    for (id, record) in orders {
        match parse_order(&id, &record) {
            Some(order) => {
                state.orders.insert(order.id.clone(), order);
            }
            None => state
                .unreadable_orders
                .push(format!("order {id} has the unreadable record {record:?}")),
        }
    }
    Ok(state)
}

fn number_field(hash: &Hash, field: &str) -> anyhow::Result<Option<i64>> {
    hash.get(field)
        .map(|value| {
            value
                .parse::<i64>()
                .with_context(|| format!("the Redis activity's {field} is {value:?}, not a number"))
        })
        .transpose()
}

/// An order record `status|user|qty|reserved_ms|expires_ms|changed_ms|reason`.
fn parse_order(id: &str, record: &str) -> Option<Order> {
    let fields: Vec<&str> = record.split('|').collect();
    // Seven fields, plus the purchase's trace context in records written since it is kept.
    let ([status, user, quantity, _, _, _, _] | [status, user, quantity, _, _, _, _, _]) =
        fields.as_slice()
    else {
        return None;
    };
    Some(Order {
        id: id.to_owned(),
        user: (*user).to_owned(),
        // Units are a u32 everywhere else; bounding them keeps the checks' sums from overflowing.
        quantity: i64::from(quantity.parse::<u32>().ok()?),
        status: OrderStatus::parse(status)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(pairs: &[(&str, &str)]) -> Hash {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn order_records_are_read_field_by_field() {
        let order = parse_order("o-1", "paid|u-7|2|1|2|3|").unwrap();
        assert_eq!(
            (order.user.as_str(), order.quantity, order.status),
            ("u-7", 2, OrderStatus::Paid)
        );
        assert!(parse_order("o-1", "cancelled|u-7|1|1|2|3|expired").is_some());
        let traced = "paid|u-7|2|1|2|3||00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(parse_order("o-1", traced).map(|o| o.quantity), Some(2));
        for bad in [
            "",
            "paid|u-7|2",
            "paid|u-7|2|1|2|3|||extra",
            "lost|u-7|1|1|2|3|",
            "paid|u-7|x|1|2|3|",
            "paid|u-7|-1|1|2|3|",
        ] {
            assert!(parse_order("o-1", bad).is_none(), "{bad:?} read");
        }
    }

    #[test]
    fn unreadable_entries_are_kept_for_the_report_and_bad_stock_is_an_error() {
        let activity = hash(&[("total", "20"), ("remaining", "4"), ("per_user_limit", "1")]);
        let bought = hash(&[("u-1", "1"), ("u-2", "many")]);
        let orders = hash(&[("o-1", "reserved|u-1|1|0|0|0|"), ("o-2", "garbage")]);
        let state = parse_state(&activity, bought, orders, 3).unwrap();
        assert_eq!(
            (state.total, state.remaining, state.per_user_limit),
            (Some(20), 4, Some(1))
        );
        assert_eq!((state.bought.len(), state.orders.len()), (1, 1));
        assert_eq!(state.unreadable_bought.len(), 1);
        assert_eq!(state.unreadable_orders.len(), 1);
        assert_eq!(state.outbox_backlog, 3);

        let broken = hash(&[("remaining", "lots")]);
        assert!(parse_state(&broken, Hash::new(), Hash::new(), 0).is_err());
        assert!(parse_state(&hash(&[("total", "3")]), Hash::new(), Hash::new(), 0).is_err());
    }
}
