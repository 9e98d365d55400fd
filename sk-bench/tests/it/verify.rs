//! `sk-bench verify` against a real sale through the whole platform: 30 shoppers buy one unit
//! each of 20 through the gateway (20 succeed, 10 are sold out), some pay, some cancel. A clean
//! sale passes; then, each on a platform of its own, the ledger or Redis is damaged the way a
//! bug would (a lost row, an invented duplicate, a shopper over the limit, stock below zero)
//! and the verdict names the damage.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sk_bench::verify::{Confirmed, Sale, Verdict, verify};
use sk_common::domain::{ActivityId, Role};
use sk_common::stock::Inventory;
use sk_common::testing::{eventually, redis_url, unique};
use sk_common::time::{now_ms, rfc3339_from_ms};
use uuid::Uuid;

use crate::helpers::Platform;

const STOCK: usize = 20;
const SHOPPERS: usize = 30;
const PAID: usize = 8;
const CANCELLED: usize = 4;
/// Long enough for any honest drain on a busy CI box.
const DRAIN: Duration = Duration::from_secs(60);
/// For damage that keeps the ledger from ever catching up.
const SHORT_DRAIN: Duration = Duration::from_secs(3);

/// A shopper's or an admin's calls through the gateway.
struct Caller<'a> {
    platform: &'a Platform,
}

impl Caller<'_> {
    async fn admin(&self, path: &str, body: Value) -> Value {
        let token = self.platform.token("ops", Role::Admin);
        let (status, created) = self.platform.post(&token, path, body).await;
        assert_eq!(status, StatusCode::CREATED, "{path}: {created}");
        created
    }

    async fn shopper(&self, user: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let token = self.platform.token(user, Role::Shopper);
        self.platform.post(&token, path, body).await
    }
}

/// An open activity of `STOCK` units, at most 1 per shopper, that sk-app already sells.
async fn open_activity(caller: &Caller<'_>) -> u64 {
    let product = caller
        .admin(
            "/admin/v1/products",
            json!({"name": "Phone", "description": "A phone", "price_cents": 1999}),
        )
        .await;
    let now = now_ms();
    let activity = caller
        .admin(
            "/admin/v1/activities",
            json!({
                "product_id": product["id"],
                "name": "Verify sale",
                "start_at": rfc3339_from_ms(now - 1_000),
                "end_at": rfc3339_from_ms(now + 3_600_000),
                "total_stock": STOCK,
                "per_user_limit": 1,
            }),
        )
        .await;
    let id = activity["id"].as_u64().unwrap();
    let url = format!("{}/api/v1/activities/{id}", caller.platform.gateway_url());
    eventually("sk-app to sell the activity", || async {
        let answer = caller
            .platform
            .gateway
            .client
            .get(&url)
            .send()
            .await
            .unwrap();
        answer.status() == StatusCode::OK
            && answer.json::<Value>().await.unwrap()["status"] == "open"
    })
    .await;
    id
}

/// The sale, recorded as a flash run would: every 200 is a confirmed purchase. The first
/// `PAID` buyers pay, the next `CANCELLED` cancel, the rest keep their reservation.
async fn sold_sale(platform: &Platform) -> Sale {
    let caller = Caller { platform };
    let id = open_activity(&caller).await;
    let mut bought = Vec::new();
    for i in 0..SHOPPERS {
        let user = format!("u-{i}");
        let path = format!("/api/v1/activities/{id}/purchase");
        let (status, answer) = caller.shopper(&user, &path, json!({"quantity": 1})).await;
        match status {
            StatusCode::OK => bought.push((user, answer)),
            StatusCode::CONFLICT => assert_eq!(answer["code"], "sold_out", "{user}: {answer}"),
            _ => panic!("{user}: {status} {answer}"),
        }
    }
    assert_eq!(bought.len(), STOCK, "every unit sells, once");
    for (i, (user, answer)) in bought.iter().enumerate().take(PAID + CANCELLED) {
        let order = answer["order_id"].as_str().unwrap();
        let (path, body) = if i < PAID {
            (
                format!("/api/v1/orders/{order}/pay"),
                json!({"token": answer["token"]}),
            )
        } else {
            (format!("/api/v1/orders/{order}/cancel"), json!({}))
        };
        let (status, answer) = caller.shopper(user, &path, body).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    }
    let confirmed = bought
        .into_iter()
        .map(|(user_id, answer)| Confirmed {
            order_id: answer["order_id"].as_str().unwrap().to_owned(),
            user_id,
            quantity: u32::try_from(answer["quantity"].as_u64().unwrap()).unwrap(),
        })
        .collect();
    Sale {
        activity_id: id,
        confirmed: Some(confirmed),
    }
}

async fn verdict(platform: &Platform, sale: &Sale, drain: Duration) -> Verdict {
    let verdict = verify(&platform.target(), sale, drain).await.unwrap();
    verdict.print();
    verdict
}

/// The sale passes before it is damaged, so a failure afterwards is the damage's doing.
async fn clean_sale(platform: &Platform) -> Sale {
    let sale = sold_sale(platform).await;
    let verdict = verdict(platform, &sale, DRAIN).await;
    assert!(verdict.passed(), "{:#?}", verdict.breaches());
    sale
}

fn confirmed(sale: &Sale, index: usize) -> &Confirmed {
    &sale.confirmed.as_ref().unwrap()[index]
}

fn order_bytes(order_id: &str) -> Vec<u8> {
    Uuid::parse_str(order_id).unwrap().as_bytes().to_vec()
}

/// Runs one statement on the platform's ledger, as a bug (or a person) might.
async fn tamper_with_ledger(
    platform: &Platform,
    sql: &str,
    params: impl Into<mysql_async::Params> + Send,
) {
    let mut conn = mysql_async::Conn::from_url(platform.mysql_url.as_str())
        .await
        .unwrap();
    conn.exec_drop(sql, params).await.unwrap();
    conn.disconnect().await.unwrap();
}

fn assert_breach(verdict: &Verdict, what: &str, said: impl Fn(&str) -> bool) {
    assert!(!verdict.passed(), "{what}: the verdict passed");
    let breaches = verdict.breaches();
    assert!(
        breaches.iter().any(|b| said(b)),
        "{what} not named in {breaches:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_clean_sale_passes_from_its_run_file_and_from_its_activity_alone() {
    let platform = Platform::start().await;
    let sale = sold_sale(&platform).await;
    let run_file = std::env::temp_dir().join(format!("{}.json", unique("sk-bench-verify-run")));
    let report = json!({
        "activity_id": sale.activity_id,
        "confirmed": sale.confirmed.as_ref().unwrap().iter().map(Confirmed::to_json).collect::<Vec<_>>(),
    });
    std::fs::write(&run_file, report.to_string()).unwrap();
    let from_file = Sale::from_run_file(&run_file).unwrap();
    std::fs::remove_file(&run_file).unwrap();
    assert_eq!(from_file, sale);

    let judged = verdict(&platform, &from_file, DRAIN).await;
    assert!(judged.passed(), "{:#?}", judged.breaches());
    let figures = &judged.figures;
    assert!(figures.drained);
    assert_eq!((figures.total_stock, figures.remaining), (20, 4));
    assert_eq!(
        (
            figures.units_reserved,
            figures.units_paid,
            figures.units_cancelled
        ),
        (8, 8, 4)
    );
    assert_eq!((figures.redis_orders, figures.mysql_orders), (STOCK, STOCK));
    assert_eq!(figures.confirmed, Some(STOCK));
    let json = judged.to_json();
    assert_eq!(json["passed"], true);
    assert_eq!(json["invariants"].as_array().unwrap().len(), 5);

    let alone = verdict(&platform, &Sale::activity(sale.activity_id), DRAIN).await;
    assert!(alone.passed(), "{:#?}", alone.breaches());
    assert_eq!(alone.figures.confirmed, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_ledger_row_names_the_confirmed_order() {
    let platform = Platform::start().await;
    let sale = clean_sale(&platform).await;
    let lost = confirmed(&sale, 0).clone();

    tamper_with_ledger(
        &platform,
        "DELETE FROM orders WHERE order_id = ?",
        (order_bytes(&lost.order_id),),
    )
    .await;

    let verdict = verdict(&platform, &sale, SHORT_DRAIN).await;
    assert!(!verdict.figures.drained, "a lost row never drains");
    assert_breach(&verdict, "the lost order", |b| {
        b.contains(&lost.order_id) && b.contains(&lost.user_id) && b.contains("not in MySQL")
    });
    assert_breach(&verdict, "the drain timeout", |b| {
        b.contains("did not drain") && b.contains(&lost.order_id)
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_invented_duplicate_row_is_named_with_its_shopper_over_the_limit() {
    let platform = Platform::start().await;
    let sale = clean_sale(&platform).await;
    let original = confirmed(&sale, 1).clone();
    let duplicate = Uuid::now_v7();

    tamper_with_ledger(
        &platform,
        "INSERT INTO orders (order_id, activity_id, user_id, quantity, status, reserved_at, \
             expires_at, paid_at, cancelled_at, cancel_reason) \
             SELECT ?, activity_id, user_id, quantity, status, reserved_at, expires_at, paid_at, \
             cancelled_at, cancel_reason FROM orders WHERE order_id = ?",
        (
            duplicate.as_bytes().to_vec(),
            order_bytes(&original.order_id),
        ),
    )
    .await;

    let verdict = verdict(&platform, &sale, SHORT_DRAIN).await;
    let duplicate = duplicate.hyphenated().to_string();
    assert_breach(&verdict, "the duplicate order", |b| {
        b.contains(&duplicate) && b.contains("duplicate or invented")
    });
    assert_breach(&verdict, "the shopper over the limit", |b| {
        b.contains(&format!("shopper {} holds 2", original.user_id)) && b.contains("limit 1")
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shopper_over_the_limit_is_named_with_the_limit() {
    let platform = Platform::start().await;
    let sale = clean_sale(&platform).await;
    let greedy = confirmed(&sale, 2).clone();

    tamper_with_ledger(
        &platform,
        "UPDATE orders SET quantity = 2 WHERE order_id = ?",
        (order_bytes(&greedy.order_id),),
    )
    .await;

    let verdict = verdict(&platform, &sale, SHORT_DRAIN).await;
    assert_breach(&verdict, "the shopper over the limit", |b| {
        b.contains(&greedy.user_id) && b.contains("over the per-user limit 1")
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stock_below_zero_in_redis_is_named() {
    let platform = Platform::start().await;
    let sale = clean_sale(&platform).await;
    let keys = Inventory::new(&platform.prefix).keys(ActivityId::new(sale.activity_id).unwrap());
    let mut redis = redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();

    redis::cmd("HSET")
        .arg(keys.activity())
        .arg("remaining")
        .arg(-1)
        .query_async::<()>(&mut redis)
        .await
        .unwrap();

    let verdict = verdict(&platform, &sale, SHORT_DRAIN).await;
    assert_breach(&verdict, "stock below zero", |b| {
        b.contains("stock below zero") && b.contains("-1")
    });
}
