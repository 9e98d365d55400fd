//! One test's flash sale: its own Redis key prefix, Kafka topics and MySQL database, with
//! sk-core instances and an order-consumer started in-process against them.

use mysql_async::prelude::Queryable;
use redis::aio::MultiplexedConnection;
use sk_common::domain::{ActivityId, OrderId};
use sk_common::signing::Nonce;
use sk_common::stock::{ActivitySpec, Inventory};
use sk_common::testing::{TestServer, Vars, load_settings, unique, unique_mysql_url};

use super::{Core, base_vars};

/// A row of the MySQL ledger.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LedgerRow {
    pub order_id: String,
    pub user_id: String,
    pub quantity: u32,
    pub status: String,
}

#[derive(Debug)]
pub struct Sale {
    pub vars: Vars,
    pub prefix: String,
    pub mysql_url: String,
    pub inventory: Inventory,
}

impl Sale {
    pub async fn new() -> Self {
        let vars = base_vars().await;
        let prefix = value(&vars, "SK_REDIS__KEY_PREFIX");
        Self {
            inventory: Inventory::new(&prefix),
            vars,
            prefix,
            mysql_url: unique_mysql_url(),
        }
    }

    /// An sk-core on this sale's Redis prefix and topics, with `extra` settings on top.
    pub async fn spawn_core(&self, extra: &[(&'static str, String)]) -> Core {
        let mut vars = self.vars.clone();
        vars.extend(extra.iter().cloned());
        let settings: sk_core::Settings = load_settings(&vars);
        Core {
            server: TestServer::spawn(settings, sk_core::run).await,
        }
    }

    /// An order-consumer writing this sale's topic into this sale's database.
    pub async fn spawn_consumer(&self) -> TestServer {
        let vars: Vars = vec![
            ("SK_MYSQL__URL", self.mysql_url.clone()),
            ("SK_KAFKA__BROKERS", value(&self.vars, "SK_KAFKA__BROKERS")),
            (
                "SK_KAFKA__ORDERS_TOPIC",
                value(&self.vars, "SK_KAFKA__ORDERS_TOPIC"),
            ),
            (
                "SK_KAFKA__DLQ_TOPIC",
                value(&self.vars, "SK_KAFKA__DLQ_TOPIC"),
            ),
            ("SK_CONSUMER__GROUP_ID", unique("sk-test-group")),
        ];
        let settings: order_consumer::Settings = load_settings(&vars);
        TestServer::spawn(settings, order_consumer::run).await
    }

    pub async fn redis(&self) -> MultiplexedConnection {
        let client = redis::Client::open(value(&self.vars, "SK_REDIS__URL")).unwrap();
        client.get_multiplexed_async_connection().await.unwrap()
    }

    pub async fn put_activity(&self, id: u64, spec: &ActivitySpec) {
        let id = ActivityId::new(id).unwrap();
        self.inventory
            .put_activity(&mut self.redis().await, id, spec)
            .await
            .unwrap();
    }

    pub async fn remaining(&self, id: u64) -> i64 {
        let id = ActivityId::new(id).unwrap();
        let remaining = self.inventory.remaining(&mut self.redis().await, id).await;
        remaining.unwrap().unwrap()
    }

    /// Every order of an activity as Redis holds it: order id → status.
    pub async fn redis_orders(&self, id: u64) -> Vec<(String, String)> {
        let keys = self.inventory.keys(ActivityId::new(id).unwrap());
        let orders: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(keys.orders())
            .query_async(&mut self.redis().await)
            .await
            .unwrap();
        let mut orders: Vec<(String, String)> = orders
            .into_iter()
            .map(|(id, record)| (id, record.split('|').next().unwrap().to_owned()))
            .collect();
        orders.sort();
        orders
    }

    /// Units each user holds in Redis.
    pub async fn bought(&self, id: u64) -> Vec<(String, i64)> {
        let keys = self.inventory.keys(ActivityId::new(id).unwrap());
        redis::cmd("HGETALL")
            .arg(keys.bought())
            .query_async(&mut self.redis().await)
            .await
            .unwrap()
    }

    /// Waits until the relay has shipped (and trimmed) every outbox entry of activity `id`, so
    /// a snapshot taken afterwards is not disturbed by the relay catching up.
    pub async fn outbox_drained(&self, id: u64) {
        let keys = self.inventory.keys(ActivityId::new(id).unwrap());
        sk_common::testing::eventually("the outbox to be relayed", || async {
            let length: u64 = redis::cmd("XLEN")
                .arg(keys.outbox())
                .query_async(&mut self.redis().await)
                .await
                .unwrap();
            length == 0
        })
        .await;
    }

    /// Every key under this sale's prefix with its serialized value (for "nothing changed"),
    /// but the marks of served calls: the replay guard's bookkeeping, not the sale's state.
    pub async fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        let mut redis = self.redis().await;
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query_async(&mut redis)
            .await
            .unwrap();
        let served_calls = format!("{}:nonce:", self.prefix);
        keys.retain(|key| !key.starts_with(&served_calls));
        keys.sort();
        let mut snapshot = Vec::new();
        for key in keys {
            let dump: Vec<u8> = redis::cmd("DUMP")
                .arg(&key)
                .query_async(&mut redis)
                .await
                .unwrap();
            snapshot.push((key, dump));
        }
        snapshot
    }

    /// Whether the replay guard holds a mark for a call with `nonce`.
    pub async fn served(&self, nonce: Nonce) -> bool {
        redis::cmd("EXISTS")
            .arg(self.inventory.served_call(nonce))
            .query_async(&mut self.redis().await)
            .await
            .unwrap()
    }

    /// Waits until the ledger has caught up with `successes`, then asserts it holds exactly
    /// those orders, once each; returns the rows.
    pub async fn ledger_holds_exactly(
        &self,
        successes: &std::collections::BTreeSet<String>,
    ) -> Vec<LedgerRow> {
        sk_common::testing::eventually_within(
            "the ledger to hold every reservation",
            sk_common::testing::PIPELINE_DEADLINE,
            || async { self.ledger().await.len() >= successes.len() },
        )
        .await;
        let ledger = self.ledger().await;
        let ids: std::collections::BTreeSet<String> =
            ledger.iter().map(|r| r.order_id.clone()).collect();
        assert_eq!(ledger.len(), ids.len(), "duplicate rows");
        assert_eq!(
            &ids, successes,
            "MySQL holds exactly the orders that got a success"
        );
        ledger
    }

    /// The MySQL ledger, sorted by order id (empty until the consumer created the table).
    pub async fn ledger(&self) -> Vec<LedgerRow> {
        let pool = mysql_async::Pool::new(self.mysql_url.as_str());
        let rows: Vec<(Vec<u8>, String, u32, String)> = match pool.get_conn().await {
            Ok(mut conn) => conn
                .query("SELECT order_id, user_id, quantity, status FROM orders")
                .await
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        pool.disconnect().await.ok();
        let mut ledger: Vec<LedgerRow> = rows
            .into_iter()
            .map(|(id, user_id, quantity, status)| LedgerRow {
                order_id: OrderId::from_bytes(id.try_into().unwrap())
                    .unwrap()
                    .to_string(),
                user_id,
                quantity,
                status,
            })
            .collect();
        ledger.sort();
        ledger
    }
}

/// The value `vars` gives `name` (the last one wins, as when loading settings).
pub fn value(vars: &Vars, name: &str) -> String {
    vars.iter()
        .rev()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.clone())
        .unwrap()
}
