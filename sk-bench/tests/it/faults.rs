//! The fault-injection suite (DESIGN §6.6): the real binaries as separate processes on
//! loopback — a gateway, 2 sk-app, 2 sk-core, sk-admin, 2 order-consumer — over a Redis, a
//! MariaDB and a broker of the test's own. For each fault, one flash sale of 20,000 shoppers
//! runs through the gateway; mid-sale the fault is injected (`kill -9`, then a restart on the
//! same port and data), and once the sale is over `verify` must pass: nothing oversold, every
//! success one order row, no duplicates, per-user limits held, returned units returned once.
//!
//! The shoppers behave as a careful shopper app does when an answer is lost: each purchase
//! carries an `Idempotency-Key` and is retried while the answer settles nothing (no answer,
//! 5xx, 429), as payments and cancellations are. So every order the platform made is told to
//! its shopper in the end, and verify can hold the platform to "no order the shopper was not
//! told about".
//!
//! Writes `reports/faults.md`: each fault, when it was injected, the sale and the verdict.

mod fault;
mod report;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt as _;

use reqwest::StatusCode;
use serde_json::Value;
use sk_bench::flash::{self, Args};
use sk_bench::verify::{self, Sale, Target};
use sk_common::domain::Role;
use sk_common::testing::DEADLINE;

use crate::helpers::{Cluster, Isolated, Replicas, Service, Stores, log_dir};

use fault::Fault;
use report::{Aborted, Row};

/// Shoppers in each sale's first wave.
const SHOPPERS: u64 = 20_000;
/// Units in each sale: enough that selling lasts tens of seconds, so faults land mid-sale,
/// and few enough that a sale's few thousand order events do not swamp the local broker
/// (tansu on sqlite), whose slowness would otherwise be all the suite measures.
const STOCK: u64 = 2_000;
/// Shoppers pressing "buy" at once (closed loop: each next one when an answer comes). A fault
/// suite proves correctness, not speed: a closed loop never offers the debug-built stack more
/// than it serves, on a quiet machine or a busy one.
const CONCURRENCY: u64 = 32;
/// How long a shopper keeps retrying a call whose answer settled nothing.
const SHOPPER_PATIENCE_SECS: u64 = 90;
/// How long the platform may take to be ready again after a fault.
pub const RECOVERY: Duration = Duration::from_secs(120);
/// How long verify waits for the pipeline to drain once the sale is over.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_fault_oversells_loses_or_doubles_an_order() {
    let dir = log_dir("faults");
    let mut outcomes = Vec::new();
    for fault in Fault::ALL {
        // Each fault gets a platform and stores of its own, so one fault's damage (or the
        // broker's backlog) never decides the next one's verdict. A fault the platform did
        // not come back from is reported as such, and the suite goes on.
        let outcome = AssertUnwindSafe(async {
            let mut bench = Bench::start(&dir.join(fault.slug())).await;
            bench.sale_under(fault).await
        })
        .catch_unwind()
        .await
        .map_err(|panic| Aborted::new(fault, panic.as_ref()));
        outcomes.push(outcome);
    }
    report::write(&outcomes);
    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Ok(row) => row.failure(),
            Err(aborted) => Some(aborted.describe()),
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} faults broke an invariant or were not recovered from (logs in {}):\n{}",
        failed.len(),
        outcomes.len(),
        dir.display(),
        failed.join("\n")
    );
}

/// The platform and its stores, which the faults act on.
pub struct Bench {
    pub cluster: Cluster,
    pub stores: Stores,
}

/// An activity's live figures from the admin API.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Units taken (reserved or paid) in Redis.
    pub sold: u64,
    /// Order rows in the ledger.
    pub persisted: u64,
}

impl Bench {
    /// Stores of their own under `dir`, and the whole platform on them.
    async fn start(dir: &std::path::Path) -> Self {
        let stores = Stores::start(&dir.join("stores")).await;
        let isolated = Isolated::on(
            &stores.redis.url(),
            &stores.mysql.url(),
            &stores.broker.url(),
        )
        .await;
        let replicas = Replicas {
            sk_app: 2,
            sk_core: 2,
            order_consumer: 2,
        };
        // tansu 0.6.0's idempotent-producer storage can panic under minutes of produce and
        // then store nothing more (`more or less than one row`): the relay uses its plain
        // producer. Its sqlite storage also slows down under a sale's events; a batch timed
        // out at 10 s is sent again whole, which loads it more, so the relay waits longer.
        let tansu_workaround = |service| match service {
            Service::SkCore => vec![
                ("SK_RELAY__IDEMPOTENT_PRODUCER", "false".to_owned()),
                ("SK_RELAY__PRODUCE_TIMEOUT_MS", "60000".to_owned()),
            ],
            _ => Vec::new(),
        };
        let cluster = Cluster::launch(dir, isolated, replicas, &tansu_workaround).await;
        Self { cluster, stores }
    }

    /// One flash sale with `fault` injected mid-sale, then verified.
    async fn sale_under(&mut self, fault: Fault) -> Row {
        let admin_token = self.cluster.token("ops", Role::Admin);
        let before = self.newest_activity().await;
        let args = sale_args(&self.cluster.gateway_url());
        let token = admin_token.clone();
        let sale = tokio::spawn(async move { flash::run(&args, token).await });
        let activity_id = self.new_activity_after(before).await;
        let injection = fault.inject(self, activity_id).await;
        let report = sale
            .await
            .expect("the sale task")
            .unwrap_or_else(|e| panic!("the sale under fault {}: {e:#}", fault.name()));
        let json = report.to_json();
        let sale = Sale::from_json(&json).expect("a flash report verify reads");
        let target = self.target(admin_token);
        let verdict = verify::verify(&target, &sale, DRAIN_TIMEOUT)
            .await
            .unwrap_or_else(|e| panic!("verify after fault {}: {e:#}", fault.name()));
        let row = Row::new(fault, injection, &json, &verdict);
        #[allow(
            clippy::print_stdout,
            reason = "the suite's progress: one line per fault"
        )]
        {
            println!("{}", row.summary());
        }
        row
    }

    /// Where verify finds the platform.
    fn target(&self, admin_token: String) -> Target {
        let isolated = &self.cluster.isolated;
        Target {
            admin_url: self.cluster.service(Service::SkAdmin).url(""),
            admin_token,
            mysql_url: isolated.mysql_url.clone(),
            redis_url: self.stores.redis.url(),
            key_prefix: isolated.prefix.clone(),
        }
    }

    /// `GET` on sk-admin (not through the gateway, which a fault may have taken down).
    async fn admin_get(&self, path: &str) -> Option<Value> {
        let url = self.cluster.service(Service::SkAdmin).url(path);
        let answer = reqwest::Client::new()
            .get(url)
            .bearer_auth(self.cluster.token("ops", Role::Admin))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        if answer.status() != StatusCode::OK {
            return None;
        }
        answer.json().await.ok()
    }

    /// The largest activity id so far (0 when none).
    async fn newest_activity(&self) -> u64 {
        let list = self
            .admin_get("/admin/v1/activities?limit=100")
            .await
            .expect("sk-admin lists the activities");
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["id"].as_u64())
            .max()
            .unwrap_or(0)
    }

    /// Waits for the sale's activity, the first with an id above `before`.
    async fn new_activity_after(&self, before: u64) -> u64 {
        self.wait_until("the sale to be created", || async {
            let newest = self.newest_activity().await;
            (newest > before).then_some(newest)
        })
        .await
    }

    /// The activity's live figures, when sk-admin answers.
    pub async fn progress(&self, activity_id: u64) -> Option<Progress> {
        let activity = self
            .admin_get(&format!("/admin/v1/activities/{activity_id}"))
            .await?;
        Some(Progress {
            sold: activity["sold"].as_u64()?,
            persisted: activity["persisted_orders"].as_u64()?,
        })
    }

    /// Polls `probe` until it gives a value, for at most three minutes (the sale opens a few
    /// seconds after it is created, once 20,000 tokens are minted, and a busy machine sells
    /// slowly).
    pub async fn wait_until<T, F, Fut>(&self, what: &str, probe: F) -> T
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let patience = DEADLINE * 9;
        let started = tokio::time::Instant::now();
        loop {
            if let Some(value) = probe().await {
                return value;
            }
            assert!(
                started.elapsed() < patience,
                "waited {patience:?} for {what}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until every service answers `/readyz` again (its dependencies answer it). A
    /// broker or consumer group recovering under a sale's load can take tens of seconds.
    pub async fn wait_all_ready(&mut self) {
        for service in Service::ALL {
            let names: Vec<String> = self
                .cluster
                .instances(service)
                .map(|p| p.name().to_owned())
                .collect();
            for name in names {
                self.cluster
                    .instance_mut(&name)
                    .wait_ready_within(RECOVERY)
                    .await;
            }
        }
    }
}

/// The sale each fault runs under.
fn sale_args(gateway: &str) -> Args {
    let (shoppers, stock, concurrency, patience) = (
        SHOPPERS.to_string(),
        STOCK.to_string(),
        CONCURRENCY.to_string(),
        SHOPPER_PATIENCE_SECS.to_string(),
    );
    Args::parse_from([
        "--gateway",
        gateway,
        "--shoppers",
        &shoppers,
        "--stock",
        &stock,
        "--concurrency",
        &concurrency,
        "--retry-secs",
        &patience,
        "--start-in-secs",
        "3",
        "--payment-timeout-secs",
        "15",
        "--pay-fraction",
        "0.7",
        "--abandon-fraction",
        "0.1",
        "--second-wave",
        "0",
        "--no-progress",
    ])
    .expect("valid flash arguments")
}
