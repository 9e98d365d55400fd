//! The faults the suite injects. Each waits for its moment in the sale (units selling, and for
//! the faults "mid-drain" order rows already streaming into the ledger), kills its victims
//! with SIGKILL, leaves them down for [`OUTAGE`], starts them again on the same port and data,
//! and waits until every service is ready again.

use std::time::{Duration, Instant};

use serde_json::Value;
use sk_common::time::{now_ms, rfc3339_from_ms};

use super::{Bench, Progress, RECOVERY, STOCK};
use crate::helpers::Service;

/// How long the victims stay down: a few relay-lock lifetimes (3 s) would hand the outbox
/// over; this is shorter, so the restarted owner may find its own lock still held.
const OUTAGE: Duration = Duration::from_secs(2);

/// Units sold before a fault is injected: a quarter of the stock, well before it sells out.
const SOLD_BEFORE_FAULT: u64 = STOCK / 4;

/// One fault of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `kill -9` the sk-core that relays the sale's outbox.
    RelayOwner,
    /// `kill -9` one order-consumer while orders stream into the ledger.
    OrderConsumer,
    /// `kill -9` one sk-app and the gateway.
    Edge,
    /// `kill -9` the broker and MariaDB while orders stream into the ledger.
    BrokerAndMysql,
    /// `kill -9` Redis (AOF `appendfsync always`).
    Redis,
}

/// What was done, when, and how the sale stood then.
#[derive(Debug, Clone)]
pub struct Injection {
    /// When the victims were killed (UTC, RFC 3339).
    pub at: String,
    /// The sale's figures just before.
    pub progress: Progress,
    /// The processes killed.
    pub victims: Vec<String>,
    /// From the kill until every service was ready again.
    pub recovered_in: Duration,
}

/// A process a fault kills.
#[derive(Debug, Clone)]
enum Victim {
    /// A service instance, by name (`sk-core-2`).
    Instance(String),
    Redis,
    Mysql,
    Broker,
}

impl Victim {
    fn name(&self) -> String {
        match self {
            Self::Instance(name) => name.clone(),
            Self::Redis => "redis".into(),
            Self::Mysql => "mariadb".into(),
            Self::Broker => "broker (tansu)".into(),
        }
    }
}

impl Fault {
    pub const ALL: [Self; 5] = [
        Self::RelayOwner,
        Self::OrderConsumer,
        Self::Edge,
        Self::BrokerAndMysql,
        Self::Redis,
    ];

    /// The fault as the report names it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::RelayOwner => "kill -9 the sk-core relaying the sale's outbox, restart it",
            Self::OrderConsumer => "kill -9 an order-consumer mid-drain, restart it",
            Self::Edge => "kill -9 an sk-app and the gateway, restart them",
            Self::BrokerAndMysql => "kill -9 the broker and MariaDB mid-drain, restart them",
            Self::Redis => "kill -9 Redis (AOF appendfsync always), restart it",
        }
    }

    /// The fault's directory name (stores and logs).
    pub const fn slug(self) -> &'static str {
        match self {
            Self::RelayOwner => "1-relay-owner",
            Self::OrderConsumer => "2-order-consumer",
            Self::Edge => "3-edge",
            Self::BrokerAndMysql => "4-broker-and-mysql",
            Self::Redis => "5-redis",
        }
    }

    /// Whether the fault waits for order rows to be streaming into the ledger.
    const fn mid_drain(self) -> bool {
        matches!(self, Self::OrderConsumer | Self::BrokerAndMysql)
    }

    /// Waits for the fault's moment in the sale, then injects it.
    pub async fn inject(self, bench: &mut Bench, activity_id: u64) -> Injection {
        let progress = bench
            .wait_until("the moment to inject the fault", || async {
                bench.progress(activity_id).await.filter(|p| {
                    p.sold >= SOLD_BEFORE_FAULT && (!self.mid_drain() || p.persisted > 0)
                })
            })
            .await;
        let victims = self.victims(bench, activity_id).await;
        let at = rfc3339_from_ms(now_ms());
        let killed = Instant::now();
        for victim in &victims {
            kill(bench, victim).await;
        }
        // The outage itself: how long the victims stay down, not a wait for anything.
        tokio::time::sleep(OUTAGE).await;
        for victim in &victims {
            restart(bench, victim).await;
        }
        bench.wait_all_ready().await;
        Injection {
            at,
            progress,
            victims: victims.iter().map(Victim::name).collect(),
            recovered_in: killed.elapsed(),
        }
    }

    async fn victims(self, bench: &Bench, activity_id: u64) -> Vec<Victim> {
        match self {
            Self::RelayOwner => vec![Victim::Instance(relay_owner(bench, activity_id).await)],
            Self::OrderConsumer => vec![Victim::Instance("order-consumer-1".into())],
            Self::Edge => vec![
                Victim::Instance("gateway".into()),
                Victim::Instance("sk-app-1".into()),
            ],
            Self::BrokerAndMysql => vec![Victim::Broker, Victim::Mysql],
            Self::Redis => vec![Victim::Redis],
        }
    }
}

async fn kill(bench: &mut Bench, victim: &Victim) {
    match victim {
        Victim::Instance(name) => {
            bench.cluster.instance_mut(name).kill().await;
        }
        Victim::Redis => bench.stores.redis.kill().await,
        Victim::Mysql => bench.stores.mysql.kill().await,
        Victim::Broker => bench.stores.broker.kill().await,
    }
}

async fn restart(bench: &mut Bench, victim: &Victim) {
    let store = match victim {
        Victim::Instance(name) => {
            bench.cluster.instance_mut(name).restart();
            return;
        }
        Victim::Redis => &mut bench.stores.redis,
        Victim::Mysql => &mut bench.stores.mysql,
        Victim::Broker => &mut bench.stores.broker,
    };
    store.restart();
    store.wait_ready_within(RECOVERY).await;
}

/// The sk-core instance relaying `activity_id`'s outbox: the one whose log last said it took
/// the outbox over ("relaying this outbox").
async fn relay_owner(bench: &Bench, activity_id: u64) -> String {
    bench
        .wait_until("a relay to own the sale's outbox", || async {
            bench
                .cluster
                .instances(Service::SkCore)
                .filter_map(|core| {
                    let log = std::fs::read_to_string(core.log_path()).ok()?;
                    let claimed = last_claim(&log, activity_id)?;
                    Some((claimed, core.name().to_owned()))
                })
                .max()
                .map(|(_, name)| name)
        })
        .await
}

/// The timestamp of the last "relaying this outbox" line about `activity_id` in a JSON log.
fn last_claim(log: &str, activity_id: u64) -> Option<String> {
    let id = activity_id.to_string();
    log.lines()
        .filter(|line| line.contains("relaying this outbox"))
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| match &line["activity_id"] {
            Value::String(s) => *s == id,
            Value::Number(n) => n.as_u64() == Some(activity_id),
            _ => false,
        })
        .filter_map(|line| line["timestamp"].as_str().map(str::to_owned))
        .max()
}
