//! `METRICS.md` is what the services expose: the five real binaries, each in its own process
//! (the metrics recorder is process-wide, so in-process services would mix), after a small
//! sale has gone through the whole pipeline, each show on `/metrics` exactly the catalogue's
//! metrics for that service, with its types, label names and help texts.

mod catalogue;
mod exposition;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use sk_bench::load::Outcome;
use sk_bench::sale_api::{NewSale, SaleApi, ShopperToken};
use sk_common::domain::Role;
use sk_common::testing::{PIPELINE_DEADLINE, eventually, eventually_within};

use crate::helpers::{Cluster, Service};
use catalogue::Row;
use exposition::Family;

const SHOPPERS: u64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_service_exposes_exactly_the_catalogue() {
    let cluster = Cluster::start("metrics").await;
    let admin = Admin::new(&cluster);
    let activity = sell_pay_and_cancel(&admin).await;
    // The scheduler leader reports the stock of live sales only: let it see this one live
    // before closing it, so both the stock and the reconciliation gauges show.
    let sk_admin = cluster.service(Service::SkAdmin);
    let stock_line = format!("sk_admin_stock_remaining_units{{activity_id=\"{activity}\"}}");
    eventually("sk-admin to report the sale's stock", || async {
        sk_admin.get_text("/metrics").await.contains(&stock_line)
    })
    .await;
    admin.close(activity).await;

    // Some series come with the services' next rounds (health probes, the scheduler's
    // reconciliation): wait for them, then report every service's differences at once.
    let started = Instant::now();
    loop {
        let differences = differences_of_every_service(&cluster).await;
        if differences.is_empty() {
            return;
        }
        assert!(
            started.elapsed() < PIPELINE_DEADLINE,
            "/metrics differs from METRICS.md:\n{differences}(the services' logs are in {})",
            cluster.log_dir().display()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Each service's differences from its catalogue rows (its own and `all`), under its name.
async fn differences_of_every_service(cluster: &Cluster) -> String {
    let mut out = String::new();
    for service in Service::ALL {
        let name = service.name();
        let page = cluster.service(service).get_text("/metrics").await;
        let differences = differences(&catalogue::rows_of(name), &exposition::families(&page));
        if !differences.is_empty() {
            let _ = write!(out, "{name}:\n{differences}");
        }
    }
    out
}

/// What differs between the catalogue `rows` and the `exposed` families, one line each
/// (empty when nothing does).
fn differences(rows: &[Row], exposed: &BTreeMap<String, Family>) -> String {
    let mut out = String::new();
    for row in rows {
        let Some(family) = exposed.get(&row.name) else {
            let _ = writeln!(out, "- missing: {} ({})", row.name, row.kind);
            continue;
        };
        if family.kind != row.kind {
            let _ = writeln!(
                out,
                "~ {}: type {} exposed, {} catalogued",
                row.name, family.kind, row.kind
            );
        }
        if family.labels != row.labels {
            let _ = writeln!(
                out,
                "~ {}: labels {:?} exposed, {:?} catalogued",
                row.name, family.labels, row.labels
            );
        }
        if family.help.as_deref() != Some(row.meaning.as_str()) {
            let _ = writeln!(
                out,
                "~ {}: help {:?} exposed, meaning {:?} catalogued",
                row.name, family.help, row.meaning
            );
        }
    }
    for (name, family) in exposed {
        if !rows.iter().any(|row| &row.name == name) {
            let _ = writeln!(out, "+ not in the catalogue: {name} ({})", family.kind);
        }
    }
    out
}

/// A sale of 10 units, open now; three shoppers buy one each (and one tries a second), the
/// first pays, the second cancels; returns once the ledger in MySQL shows it all.
async fn sell_pay_and_cancel(admin: &Admin) -> u64 {
    let api = &admin.api;
    let now = api.server_now_ms().await.expect("the gateway's clock");
    let sale = NewSale {
        name: "Metrics sale".into(),
        total_stock: 10,
        per_user_limit: 1,
        price_cents: 1_999,
        start_ms: now - 1_000,
        end_ms: now + 3_600_000,
        payment_timeout_secs: 900,
    };
    let activity = api.create_sale(&sale).await.expect("a sale");
    eventually("sk-app to sell the activity", || async {
        api.activity(activity)
            .await
            .is_ok_and(|a| a["status"] == "open")
    })
    .await;
    let shoppers = api
        .mint_shoppers("metrics-", SHOPPERS)
        .await
        .expect("shopper tokens");
    let mut orders: Vec<(&ShopperToken, Value)> = Vec::new();
    for shopper in &shoppers {
        let (answer, body) = api.buy(shopper, activity).await;
        assert_eq!(answer.outcome, Outcome::Ok, "{:?}", answer.detail);
        orders.push((shopper, body.expect("a purchase answer")));
    }
    let (again, _) = api.buy(&shoppers[2], activity).await;
    assert_eq!(again.outcome, Outcome::LimitExceeded, "{:?}", again.detail);
    let order_id = |order: &Value| order["order_id"].as_str().expect("an order id").to_owned();
    let (payer, paid) = &orders[0];
    let token = paid["token"].as_str().expect("a purchase token");
    let answer = api.pay(payer, &order_id(paid), token).await;
    assert_eq!(answer.outcome, Outcome::Ok, "{:?}", answer.detail);
    let (canceller, cancelled) = &orders[1];
    let answer = api.cancel(canceller, &order_id(cancelled)).await;
    assert_eq!(answer.outcome, Outcome::Ok, "{:?}", answer.detail);
    eventually_within("the orders to reach MySQL", PIPELINE_DEADLINE, || async {
        let stats = admin.activity(activity).await;
        stats["persisted_orders"] == SHOPPERS && stats["paid"] == 1 && stats["cancelled"] == 1
    })
    .await;
    activity
}

/// The admin API through the gateway.
struct Admin {
    api: SaleApi,
    http: reqwest::Client,
    token: String,
}

impl Admin {
    fn new(cluster: &Cluster) -> Self {
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("an HTTP client");
        let token = cluster.token("ops", Role::Admin);
        Self {
            api: SaleApi::new(http.clone(), &cluster.gateway_url(), token.clone()),
            http,
            token,
        }
    }

    /// The activity with its live figures (`persisted_orders`, `paid`, …).
    async fn activity(&self, activity: u64) -> Value {
        let url = self.api.url(&format!("/admin/v1/activities/{activity}"));
        let answer = self.http.get(url).bearer_auth(&self.token).send().await;
        let answer = answer.expect("the admin API answers");
        assert_eq!(answer.status(), StatusCode::OK);
        answer.json().await.expect("an activity")
    }

    async fn close(&self, activity: u64) {
        let url = self
            .api
            .url(&format!("/admin/v1/activities/{activity}/close"));
        let answer = self.http.post(url).bearer_auth(&self.token).send().await;
        let answer = answer.expect("the admin API answers");
        assert_eq!(answer.status(), StatusCode::OK, "closing the sale");
    }
}
