//! The scheduler against a real sale: reconciliation (issue test 5) and Redis repair (test 6).

use mysql_async::prelude::Queryable;
use serde_json::Value;
use sk_common::testing::{PIPELINE_DEADLINE, eventually, eventually_within, unique};
use sk_common::time::now_ms;

use crate::helpers::{Admin, Pipeline, activity_body};

const HOUR: u64 = 3_600_000;

/// sk-admin (fast scheduler), sk-core and order-consumer on one prefix and one database, and an
/// open activity of 50 units, limit 2.
async fn sale() -> (Admin, Pipeline, u64) {
    let prefix = unique("skt");
    let admin = Admin::start_with(
        &prefix,
        &[
            ("SK_SCHEDULER__INTERVAL_MS", "100".into()),
            ("SK_SCHEDULER__LOCK_TTL_MS", "1000".into()),
        ],
    )
    .await;
    let pipeline = Pipeline::start(&prefix, &admin.mysql_url).await;
    let product = admin.product().await;
    let now = now_ms();
    let mut body = activity_body(product, now - HOUR, now + HOUR);
    body["total_stock"] = 50.into();
    let id = admin.activity(body).await["id"].as_u64().unwrap();
    (admin, pipeline, id)
}

/// Reserves one unit for each of `users`, then cancels the first `cancelled` of them.
async fn sell(pipeline: &Pipeline, id: u64, users: u32, cancelled: u32) -> Vec<Value> {
    let mut orders = Vec::new();
    for i in 0..users {
        let (status, order) = pipeline.reserve(id, &format!("user-{i}"), 1).await;
        assert_eq!(status, 200, "{order}");
        orders.push(order);
    }
    for (i, order) in orders.iter().enumerate().take(cancelled as usize) {
        let (status, _) = pipeline
            .cancel(order["order_id"].as_str().unwrap(), &format!("user-{i}"))
            .await;
        assert_eq!(status, 200);
    }
    orders
}

async fn ledger_pages(admin: &Admin, first: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = first.to_owned();
    loop {
        let (status, page) = admin.get(&path).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{page}");
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{first}&cursor={cursor}"),
            None => return items,
        }
    }
}

async fn reconciliation(admin: &Admin, id: u64) -> Value {
    admin
        .get(&format!("/admin/v1/activities/{id}/reconciliation"))
        .await
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reconciliation_agrees_after_a_sale_and_reports_a_lost_ledger_row() {
    let (admin, pipeline, id) = sale().await;
    sell(&pipeline, id, 30, 5).await;

    eventually_within(
        "Redis and the ledger to agree",
        PIPELINE_DEADLINE,
        || async { reconciliation(&admin, id).await["consistent"] == true },
    )
    .await;
    let report = reconciliation(&admin, id).await;
    assert_eq!(report["redis_sold_units"], 25);
    assert_eq!(report["ledger_units"], 25);
    assert_eq!(report["ledger_cancelled"], 5);
    assert_eq!(report["ledger_reserved"], 25);
    assert_eq!(report["difference"], 0);

    // The ledger, paged with its filters held on every page.
    let all = ledger_pages(
        &admin,
        &format!("/admin/v1/orders?activity_id={id}&limit=7"),
    )
    .await;
    assert_eq!(all.len(), 30);
    let mut ids: Vec<&str> = all
        .iter()
        .map(|o| o["order_id"].as_str().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first");
    ids.dedup();
    assert_eq!(ids.len(), 30);
    let cancelled = ledger_pages(
        &admin,
        &format!("/admin/v1/orders?activity_id={id}&status=cancelled&limit=2"),
    )
    .await;
    assert_eq!(cancelled.len(), 5);
    assert!(
        cancelled
            .iter()
            .all(|o| o["status"] == "cancelled" && o["cancel_reason"] == "cancelled")
    );
    let (_, first) = admin
        .get(&format!("/admin/v1/orders?activity_id={id}&limit=7"))
        .await;
    let cursor = first["next_cursor"].as_str().unwrap();
    let (status, _) = admin
        .get(&format!(
            "/admin/v1/orders?status=paid&limit=7&cursor={cursor}"
        ))
        .await;
    assert_eq!(
        status,
        reqwest::StatusCode::BAD_REQUEST,
        "a cursor keeps its filter"
    );

    let pool = mysql_async::Pool::new(admin.mysql_url.as_str());
    let mut conn = pool.get_conn().await.unwrap();
    conn.query_drop("DELETE FROM orders WHERE status = 'reserved' LIMIT 1")
        .await
        .unwrap();
    drop(conn);
    pool.disconnect().await.unwrap();
    let report = reconciliation(&admin, id).await;
    assert_eq!(report["difference"], 1, "{report}");
    assert_eq!(report["consistent"], false);
    pipeline.stop().await;
    admin.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_scheduler_rebuilds_lost_redis_state_from_the_ledger() {
    let (admin, pipeline, id) = sale().await;
    let orders = sell(&pipeline, id, 20, 3).await;
    eventually_within("the ledger to hold the sale", PIPELINE_DEADLINE, || async {
        reconciliation(&admin, id).await["consistent"] == true
    })
    .await;

    // Lose the activity's Redis state (as a Redis restart without persistence would).
    let mut redis = admin.redis().await;
    for name in ["activity", "bought", "orders", "deadlines"] {
        redis::cmd("DEL")
            .arg(format!("{}:{{{id}}}:{name}", admin.prefix))
            .query_async::<()>(&mut redis)
            .await
            .unwrap();
    }
    eventually("the scheduler to rebuild the activity", || async {
        let (_, activity) = admin.get(&format!("/admin/v1/activities/{id}")).await;
        activity["remaining"] == 33
    })
    .await;

    // What each shopper holds came back too: user-5 holds 1 of 2, so one more fits, not two.
    assert_eq!(pipeline.reserve(id, "user-5", 2).await.0, 409);
    assert_eq!(pipeline.reserve(id, "user-5", 1).await.0, 200);
    // And the restored orders are live: cancelling one returns its unit.
    let (status, _) = pipeline
        .cancel(orders[10]["order_id"].as_str().unwrap(), "user-10")
        .await;
    assert_eq!(status, 200);
    let (_, activity) = admin.get(&format!("/admin/v1/activities/{id}")).await;
    assert_eq!(activity["remaining"], 33);
    pipeline.stop().await;
    admin.server.stop().await.unwrap();
}

/// A closed sale whose orders are all settled is reconciled and taken off the relay's and the
/// reaper's rounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_settled_sale_is_reconciled_and_retired_once_closed() {
    let (admin, pipeline, id) = sale().await;
    let orders = sell(&pipeline, id, 4, 4).await;
    assert_eq!(orders.len(), 4);
    let registry = format!("{}:activities", admin.prefix);
    let registered = || async {
        redis::cmd("SISMEMBER")
            .arg(&registry)
            .arg(id)
            .query_async::<bool>(&mut admin.redis().await)
            .await
            .unwrap()
    };
    assert!(registered().await);
    admin
        .post(
            &format!("/admin/v1/activities/{id}/close"),
            serde_json::json!({}),
        )
        .await;
    eventually("the closed, settled sale to be retired", || async {
        !registered().await
    })
    .await;
    assert_eq!(reconciliation(&admin, id).await["consistent"], true);
    pipeline.stop().await;
    admin.server.stop().await.unwrap();
}
