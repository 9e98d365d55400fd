mod broker;
mod ledger_db;

use sk_common::domain::{ActivityId, OrderId, PriceCents, Quantity, UserId};
use sk_common::events::{CancelReason, OrderEvent, OrderStatus, SCHEMA_VERSION};
use sk_common::testing::{
    BlackHole, PIPELINE_DEADLINE, TestServer, Vars, closed_port, eventually_within, kafka_brokers,
    load_settings, mysql_hangs, mysql_server_url, unique, unique_mysql_url, unique_topics,
};

pub use broker::{Events, SENT_TRACEPARENT, read_dead_letters, reset_group_to_earliest};
pub use ledger_db::{LedgerDb, expected_row};

pub const BINARY: &str = env!("CARGO_BIN_EXE_order-consumer");

pub fn settings(vars: &Vars) -> order_consumer::Settings {
    load_settings(vars)
}

/// The local stack's broker with topics and a consumer group of this test's own, and a MySQL
/// database of its own.
pub async fn base_vars() -> Vars {
    let (orders, dlq) = unique_topics().await;
    vec![
        ("SK_MYSQL__URL", unique_mysql_url()),
        ("SK_KAFKA__BROKERS", kafka_brokers()),
        ("SK_KAFKA__ORDERS_TOPIC", orders),
        ("SK_KAFKA__DLQ_TOPIC", dlq),
        ("SK_CONSUMER__GROUP_ID", unique("sk-test-group")),
    ]
}

/// Kafka (required) points at a closed port.
pub async fn closed_vars() -> Vars {
    let mut vars = base_vars().await;
    vars.push(("SK_KAFKA__BROKERS", closed_port().to_string()));
    vars.push(("SK_KAFKA__REQUEST_TIMEOUT_MS", "500".into()));
    vars
}

/// MySQL hangs: every readiness probe stays in flight until its timeout.
pub async fn hole_vars(hole: &BlackHole) -> Vars {
    let mut vars = base_vars().await;
    vars.extend(mysql_hangs(hole));
    vars
}

/// [`base_vars`] with quick retries, so that recovering from an outage takes little time.
pub async fn ledger_vars() -> Vars {
    let mut vars = base_vars().await;
    vars.extend([
        ("SK_CONSUMER__RETRY_INITIAL_MS", "50".to_owned()),
        ("SK_CONSUMER__RETRY_MAX_MS", "500".to_owned()),
    ]);
    vars
}

/// The value `vars` gives `name` (the last one wins, as when loading settings).
pub fn var(vars: &Vars, name: &str) -> String {
    vars.iter()
        .rev()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("{name} is not set"))
}

/// The test MySQL server's `host:port`, for a proxy in front of it.
pub fn mysql_server_addr() -> std::net::SocketAddr {
    let opts = mysql_async::Opts::from_url(&mysql_server_url()).unwrap();
    std::net::ToSocketAddrs::to_socket_addrs(&(opts.ip_or_hostname(), opts.tcp_port()))
        .unwrap()
        .next()
        .unwrap()
}

/// One order-consumer setup: what it consumes and writes, and handles to check both.
pub struct TestLedger {
    pub vars: Vars,
    pub settings: order_consumer::Settings,
    pub events: Events,
    /// The ledger database, reached directly (never through a test proxy).
    pub db: LedgerDb,
}

impl TestLedger {
    /// The database is reached at `SK_MYSQL__URL` of `db_vars`, the service uses `vars`.
    pub fn new(vars: Vars, db_vars: &Vars) -> Self {
        let settings = settings(&vars);
        Self {
            events: Events::new(&settings.kafka),
            db: LedgerDb::new(&var(db_vars, "SK_MYSQL__URL")),
            settings,
            vars,
        }
    }

    /// Starts order-consumer in-process through its real `run`.
    pub async fn start(&self) -> TestServer {
        TestServer::spawn(settings(&self.vars), order_consumer::run).await
    }

    /// Waits until the group's committed offsets reach the end of every partition, which the
    /// writer only commits after the MySQL transaction of those events committed.
    pub async fn wait_caught_up(&self) {
        eventually_within(
            "the consumer group to commit every offset",
            PIPELINE_DEADLINE,
            || async { self.caught_up().await },
        )
        .await;
    }

    /// Whether the group's committed offsets are at the end of every partition right now.
    pub async fn caught_up(&self) -> bool {
        broker::caught_up(&self.settings.kafka, &self.settings.consumer.group_id).await
    }
}

/// Fixed times, so expected rows are exact: 2026-11-22T00:00:00Z and on.
const T0_MS: u64 = 1_795_305_600_000;

/// A fresh order of `user_id`, as reserved.
pub fn reserved(user: u32) -> OrderEvent {
    let at = T0_MS + u64::from(user);
    OrderEvent {
        schema_version: SCHEMA_VERSION,
        order_id: OrderId::generate(),
        activity_id: ActivityId::new(42).unwrap(),
        user_id: UserId::parse(&format!("user-{user}")).unwrap(),
        quantity: Quantity::new(1 + user % 3).unwrap(),
        price_cents: PriceCents::new(1_999).unwrap(),
        status: OrderStatus::Reserved,
        reserved_at_ms: at,
        expires_at_ms: at + 900_000,
        changed_at_ms: at,
        cancel_reason: None,
    }
}

/// `order` paid `after_ms` after its reservation.
pub fn paid(order: &OrderEvent, after_ms: u64) -> OrderEvent {
    OrderEvent {
        status: OrderStatus::Paid,
        changed_at_ms: order.reserved_at_ms + after_ms,
        cancel_reason: None,
        ..order.clone()
    }
}

/// `order` cancelled for `reason` `after_ms` after its reservation.
pub fn cancelled(order: &OrderEvent, after_ms: u64, reason: CancelReason) -> OrderEvent {
    OrderEvent {
        status: OrderStatus::Cancelled,
        changed_at_ms: order.reserved_at_ms + after_ms,
        cancel_reason: Some(reason),
        ..order.clone()
    }
}
