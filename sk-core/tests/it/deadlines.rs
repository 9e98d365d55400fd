//! Issue test 5: payment racing the deadline reaper.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use sk_common::testing::{PIPELINE_DEADLINE, eventually, eventually_within};
use sk_common::time::now_ms;

use crate::helpers::{Sale, open_activity};

/// 500 reservations with a 1-second deadline; half of them are paid concurrently right around
/// the deadline while reapers on two instances expire the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_payment_racing_its_deadline_ends_paid_xor_cancelled_and_units_return_once() {
    const TOTAL: u32 = 600;
    let sale = Sale::new().await;
    let mut spec = open_activity(TOTAL, 1);
    spec.payment_timeout_ms = 1_000;
    sale.put_activity(1, &spec).await;
    let fast_reaper = [("SK_REAPER__INTERVAL_MS", "20".to_owned())];
    let cores = [
        sale.spawn_core(&fast_reaper).await,
        sale.spawn_core(&fast_reaper).await,
    ];
    let consumer = sale.spawn_consumer().await;

    // Each shopper reserves; every other one then pays at a moment of its own, spread from
    // 400 ms before to 400 ms after its own deadline (so the spread does not depend on how long
    // the other reservations took).
    let shoppers = (0..500_u64).map(|i| {
        let core = &cores[(i % 2) as usize];
        async move {
            let user = format!("payer-{i}");
            let (status, order) = core.reserve(1, &user, 1).await;
            assert_eq!(status, StatusCode::OK, "{order}");
            if i % 2 == 1 {
                return None;
            }
            let expires = order["expires_at_ms"].as_u64().unwrap();
            let at = expires - 400 + i * 800 / 500;
            tokio::time::sleep(Duration::from_millis(at.saturating_sub(now_ms()))).await;
            let id = order["order_id"].as_str().unwrap().to_owned();
            let (status, body) = core.pay(&id, &user, order["token"].as_str().unwrap()).await;
            Some((id, status, body))
        }
    });
    let paid: Vec<_> = futures_util::stream::iter(shoppers)
        .buffer_unordered(500)
        .filter_map(|payment| async move { payment })
        .collect()
        .await;

    eventually("every reservation to be paid or expired", || async {
        sale.redis_orders(1)
            .await
            .iter()
            .all(|(_, status)| status != "reserved")
    })
    .await;
    let statuses: HashMap<String, String> = sale.redis_orders(1).await.into_iter().collect();
    assert_eq!(statuses.len(), 500);
    let mut paid_ok = 0;
    for (id, status, body) in &paid {
        match status.as_u16() {
            200 => {
                assert_eq!(statuses[id], "paid", "a 200 pay must leave the order paid");
                paid_ok += 1;
            }
            409 => {
                assert_eq!(body["code"], "expired");
                assert_eq!(
                    statuses[id], "cancelled",
                    "an expired payment leaves it cancelled"
                );
            }
            other => panic!("pay answered {other}: {body}"),
        }
    }
    let paid_units = statuses.values().filter(|s| *s == "paid").count();
    assert_eq!(paid_units, paid_ok, "only the 200 payments are paid");
    assert!(
        paid_ok > 0 && paid_ok < 250,
        "the race should go both ways: {paid_ok} paid"
    );
    assert_eq!(
        paid_units as i64 + sale.remaining(1).await,
        i64::from(TOTAL),
        "every unpaid unit came back exactly once"
    );
    assert!(
        sale.bought(1).await.iter().all(|(_, n)| *n == 1),
        "only payers hold units"
    );

    eventually_within("MySQL to agree with Redis", PIPELINE_DEADLINE, || async {
        let ledger = sale.ledger().await;
        ledger.len() == 500 && ledger.iter().all(|r| statuses[&r.order_id] == r.status)
    })
    .await;
    consumer.stop().await.unwrap();
    for core in cores {
        core.server.stop().await.unwrap();
    }
}
