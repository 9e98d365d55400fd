//! Helpers for the services' integration tests (feature `testing`): real dependencies on
//! loopback, isolated names, services started in-process or as processes, a TCP proxy that
//! cuts a dependency off, waiting with a deadline instead of sleeping, and scenarios written
//! once for every service.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

mod jwt;
mod process;
mod proxy;
pub mod scenarios;
mod server;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub use jwt::forged_jwt;
pub use process::{ServiceProcess, run_to_exit};
pub use proxy::TcpProxy;
pub use server::TestServer;

use crate::settings::{self, EnvSource, ServiceSettings};

/// How long any awaited condition in a test may take.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// How long a condition that waits on the whole pipeline (relay → Kafka → order-consumer →
/// MySQL) may take. Alone such a wait takes about a second; while the whole suite runs, the
/// one shared test broker has taken over 20 s to serve a fresh consumer group now and then.
pub const PIPELINE_DEADLINE: Duration = Duration::from_secs(90);

/// The Redis the tests use (`SK_TEST_REDIS_URL`, default the local stack's).
#[must_use]
pub fn redis_url() -> String {
    std::env::var("SK_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// The MySQL server the tests use, without a database (`SK_TEST_MYSQL_URL`).
#[must_use]
pub fn mysql_server_url() -> String {
    std::env::var("SK_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

/// The Kafka brokers the tests use (`SK_TEST_KAFKA_BROKERS`).
#[must_use]
pub fn kafka_brokers() -> String {
    std::env::var("SK_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// A name no other test uses: `<prefix>_<uuid>` (fits MySQL's 64-character identifiers).
#[must_use]
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// A URL for a fresh database of its own on the test MySQL server.
#[must_use]
pub fn unique_mysql_url() -> String {
    format!("{}/{}", mysql_server_url(), unique("sk_test"))
}

/// Loads `S` from its embedded defaults plus `vars` (never the process environment).
#[must_use]
pub fn load_settings<S: ServiceSettings>(vars: &[(&str, String)]) -> S {
    let vars = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    settings::load::<S>(None, EnvSource::Vars(vars))
        .unwrap_or_else(|e| panic!("test settings do not load: {e}"))
}

/// Creates a fresh pair of order topics on the test brokers; returns `(orders, dlq)`.
pub async fn unique_topics() -> (String, String) {
    unique_topics_on(&kafka_brokers()).await
}

/// Creates a fresh pair of order topics (4 partitions, and 1 for the dead letters) on
/// `brokers`; returns `(orders, dlq)`.
pub async fn unique_topics_on(brokers: &str) -> (String, String) {
    let settings = crate::kafka::KafkaSettings {
        brokers: brokers.to_owned(),
        orders_topic: unique("sk.orders"),
        dlq_topic: unique("sk.orders.dlq"),
        request_timeout_ms: 10_000,
    };
    for (topic, partitions) in [(&settings.orders_topic, 4), (&settings.dlq_topic, 1)] {
        crate::kafka::create_topic(&settings, topic, partitions)
            .await
            .unwrap_or_else(|e| panic!("cannot create topic {topic}: {e}"));
    }
    (settings.orders_topic, settings.dlq_topic)
}

/// Test variables: `SK_…` name and value.
pub type Vars = Vec<(&'static str, String)>;

/// An sk-core of a test's own: the local Redis under `prefix`, fresh order topics, and
/// `internal_secret` (which the test's sk-app instances must share).
pub async fn core_vars(prefix: &str, internal_secret: &str) -> Vars {
    let (orders, dlq) = unique_topics().await;
    vec![
        ("SK_REDIS__URL", redis_url()),
        ("SK_REDIS__KEY_PREFIX", prefix.to_owned()),
        ("SK_KAFKA__BROKERS", kafka_brokers()),
        ("SK_KAFKA__ORDERS_TOPIC", orders),
        ("SK_KAFKA__DLQ_TOPIC", dlq),
        ("SK_SECURITY__INTERNAL_SECRET", internal_secret.to_owned()),
        (
            "SK_SECURITY__PURCHASE_TOKEN_SECRET",
            "test-purchase-token-secret-0123456789".into(),
        ),
    ]
}

/// Settings that point Redis at `hole` (it accepts and never answers) and keep every
/// readiness probe in flight until its 1.5 s timeout.
#[must_use]
pub fn redis_hangs(hole: &BlackHole) -> Vars {
    vec![
        ("SK_REDIS__URL", format!("redis://{}", hole.addr())),
        ("SK_REDIS__CONNECT_TIMEOUT_MS", "5000".into()),
        ("SK_HTTP__READINESS_TIMEOUT_MS", "1500".into()),
    ]
}

/// Like [`redis_hangs`], for MySQL.
#[must_use]
pub fn mysql_hangs(hole: &BlackHole) -> Vars {
    vec![
        ("SK_MYSQL__URL", format!("mysql://root@{}/sk", hole.addr())),
        ("SK_MYSQL__CONNECT_TIMEOUT_MS", "5000".into()),
        ("SK_HTTP__READINESS_TIMEOUT_MS", "1500".into()),
    ]
}

/// An address where nothing listens (bound, then released).
#[must_use]
pub fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A server that accepts connections and never answers: a dependency that hangs.
#[derive(Debug)]
pub struct BlackHole {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl BlackHole {
    /// Starts listening on a free loopback port.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(socket);
            }
        });
        Self {
            addr,
            accepted,
            task,
        }
    }

    /// Where it listens.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections accepted so far.
    #[must_use]
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for BlackHole {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits until `check` is true, polling; panics naming `what` after [`DEADLINE`].
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    eventually_within(what, DEADLINE, check).await;
}

/// Like [`eventually`], with a deadline of the caller's (see [`PIPELINE_DEADLINE`]).
///
/// # Panics
/// When `check` is still false after `deadline`.
pub async fn eventually_within<F, Fut>(what: &str, deadline: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(
            started.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every key of a service's `defaults.toml`, as the `SK_…` variable that overrides it.
#[must_use]
pub fn env_vars_of(defaults: &str) -> Vec<String> {
    let table = config::Config::builder()
        .add_source(config::File::from_str(defaults, config::FileFormat::Toml))
        .build()
        .unwrap()
        .try_deserialize::<config::Map<String, config::Value>>()
        .unwrap();
    let mut keys = Vec::new();
    flatten("", table, &mut keys);
    keys.sort();
    keys.into_iter().map(|k| settings::env_var(&k)).collect()
}

fn flatten(prefix: &str, table: config::Map<String, config::Value>, out: &mut Vec<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}.{key}")
        };
        match value.into_table() {
            Ok(nested) => flatten(&path, nested, out),
            Err(_) => out.push(path),
        }
    }
}

/// A sale that opened a second ago and lasts an hour: `total_stock` units at 19.99, at most
/// `per_user_limit` per shopper, 15 minutes to pay.
#[must_use]
pub fn open_activity(total_stock: u32, per_user_limit: u32) -> crate::stock::ActivitySpec {
    let now = crate::time::now_ms();
    crate::stock::ActivitySpec {
        open: true,
        start_at_ms: now - 1_000,
        end_at_ms: now + 3_600_000,
        total_stock,
        per_user_limit,
        payment_timeout_ms: 900_000,
        price_cents: crate::domain::PriceCents::new(1_999).unwrap(),
        max_sold_per_sec: None,
        buy_rate_ppm: crate::stock::BUY_RATE_ALL_PPM,
    }
}
