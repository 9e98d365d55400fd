//! Reserving, paying and cancelling through sk-core, down to the MySQL ledger.

use std::collections::{BTreeSet, HashMap};

use futures_util::StreamExt;
use reqwest::StatusCode;
use sk_common::testing::{PIPELINE_DEADLINE, eventually_within};

use crate::helpers::{Sale, open_activity};

/// Issue test 1: two sk-core instances, 5,000 concurrent reserve calls from 2,000 users
/// (limit 2) against stock 1,000.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_shoppers_never_oversell_and_every_success_reaches_the_ledger() {
    let sale = Sale::new().await;
    sale.put_activity(1, &open_activity(1_000, 2)).await;
    let cores = [sale.spawn_core(&[]).await, sale.spawn_core(&[]).await];
    let consumer = sale.spawn_consumer().await;

    let calls = (0..5_000_u32).map(|i| {
        let core = &cores[(i % 2) as usize];
        let user = format!("user-{}", i % 2_000);
        async move { (user.clone(), core.reserve(1, &user, 1).await) }
    });
    let outcomes: Vec<_> = futures_util::stream::iter(calls)
        .buffer_unordered(200)
        .collect()
        .await;

    let mut successes = BTreeSet::new();
    let mut per_user: HashMap<String, u32> = HashMap::new();
    for (user, (status, body)) in &outcomes {
        match status.as_u16() {
            200 => {
                assert!(successes.insert(body["order_id"].as_str().unwrap().to_owned()));
                *per_user.entry(user.clone()).or_default() += 1;
            }
            409 => assert!(
                ["sold_out", "limit_exceeded"].contains(&body["code"].as_str().unwrap()),
                "{body}"
            ),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(successes.len(), 1_000, "exactly the stock is reserved");
    assert_eq!(sale.remaining(1).await, 0);
    assert!(
        per_user.values().all(|n| *n <= 2),
        "a user exceeded the limit"
    );
    let bought: i64 = sale.bought(1).await.iter().map(|(_, n)| *n).sum();
    assert_eq!(bought, 1_000);

    let ledger = sale.ledger_holds_exactly(&successes).await;
    assert!(
        ledger
            .iter()
            .all(|r| r.status == "reserved" && r.quantity == 1)
    );

    consumer.stop().await.unwrap();
    for core in cores {
        core.server.stop().await.unwrap();
    }
}

/// Issue test 6: the same idempotency key twice gives the same order and takes one unit.
#[tokio::test]
async fn the_same_idempotency_key_returns_the_same_order() {
    let sale = Sale::new().await;
    sale.put_activity(2, &open_activity(10, 3)).await;
    let core = sale.spawn_core(&[]).await;

    let (first_status, first) = core.reserve_once(2, "alice", "click-1").await;
    let (again_status, again) = core.reserve_once(2, "alice", "click-1").await;
    assert_eq!(first_status, StatusCode::OK, "{first}");
    assert_eq!(again_status, StatusCode::OK, "{again}");
    assert_eq!(first["order_id"], again["order_id"]);
    assert_eq!(first["token"], again["token"]);
    assert_eq!(
        sale.remaining(2).await,
        9,
        "one unit for two identical requests"
    );

    // The key belongs to its user: another user's identical key is another order.
    let (_, bob) = core.reserve_once(2, "bob", "click-1").await;
    assert_ne!(bob["order_id"], first["order_id"]);
    assert_eq!(sale.remaining(2).await, 8);

    // A retry that arrives after the sale closed still gets its order back.
    let mut closed = open_activity(10, 3);
    closed.open = false;
    sale.put_activity(2, &closed).await;
    let (status, late) = core.reserve_once(2, "alice", "click-1").await;
    assert_eq!(
        (status, &late["order_id"]),
        (StatusCode::OK, &first["order_id"])
    );
    let (status, _) = core.reserve_once(2, "alice", "click-2").await;
    assert_eq!(status, StatusCode::GONE);
    core.server.stop().await.unwrap();
}

/// An sk-core killed between a reservation's script and its order index (a separate key)
/// leaves an order nobody can look up or cancel by id; the shopper's retry with the same key
/// writes the index, so the order is theirs to see and cancel again.
#[tokio::test]
async fn a_retry_indexes_an_order_whose_maker_died_before_indexing_it() {
    let sale = Sale::new().await;
    sale.put_activity(4, &open_activity(10, 1)).await;
    let core = sale.spawn_core(&[]).await;

    let (status, first) = core.reserve_once(4, "dana", "tap-1").await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let order_id = first["order_id"].as_str().unwrap();
    // What a `kill -9` right after the script leaves behind: the order, without its index.
    let index = format!("{}:order:{order_id}", sale.prefix);
    let removed: u32 = redis::cmd("DEL")
        .arg(&index)
        .query_async(&mut sale.redis().await)
        .await
        .unwrap();
    assert_eq!(removed, 1, "the order index is {index}");
    let (status, _) = core.cancel(order_id, "dana").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "unindexed, the order is out of reach"
    );

    let (status, again) = core.reserve_once(4, "dana", "tap-1").await;
    assert_eq!(
        (status, &again["order_id"]),
        (StatusCode::OK, &first["order_id"])
    );
    let (status, order) = core.order(order_id, "dana").await;
    assert_eq!(
        (status, &order["status"]),
        (StatusCode::OK, &"reserved".into())
    );
    let (status, body) = core.cancel(order_id, "dana").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(sale.remaining(4).await, 10, "the unit came back");
    core.server.stop().await.unwrap();
}

#[tokio::test]
async fn an_order_can_be_paid_once_and_a_cancelled_one_returns_its_units() {
    let sale = Sale::new().await;
    sale.put_activity(3, &open_activity(5, 5)).await;
    let core = sale.spawn_core(&[]).await;
    let consumer = sale.spawn_consumer().await;

    let (_, paid) = core.reserve(3, "carol", 2).await;
    let (_, cancelled) = core.reserve(3, "carol", 1).await;
    assert_eq!(sale.remaining(3).await, 2);
    let paid_id = paid["order_id"].as_str().unwrap();
    let cancelled_id = cancelled["order_id"].as_str().unwrap();
    let token = paid["token"].as_str().unwrap();

    let (status, body) = core.pay(paid_id, "carol", token).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("paid"))
    );
    let (status, _) = core.pay(paid_id, "carol", token).await;
    assert_eq!(status, StatusCode::OK, "paying twice is a success");
    let (status, body) = core.cancel(paid_id, "carol").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_paid"))
    );

    let (status, _) = core.cancel(cancelled_id, "carol").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = core.cancel(cancelled_id, "carol").await;
    assert_eq!(status, StatusCode::OK, "cancelling twice is a success");
    assert_eq!(
        sale.remaining(3).await,
        3,
        "the cancelled unit came back once"
    );
    let token = cancelled["token"].as_str().unwrap();
    let (status, body) = core.pay(cancelled_id, "carol", token).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("cancelled"))
    );

    let (status, order) = core.order(paid_id, "carol").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(order["status"], "paid");
    assert_eq!(order["quantity"], 2);
    assert_eq!(order["price_cents"], 1_999);
    let (status, _) = core.order(paid_id, "mallory").await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "only the owner sees an order"
    );

    eventually_within(
        "the ledger to follow both orders",
        PIPELINE_DEADLINE,
        || async {
            let ledger = sale.ledger().await;
            let status = |id: &str| {
                ledger
                    .iter()
                    .find(|r| r.order_id == id)
                    .map(|r| r.status.clone())
            };
            status(paid_id).as_deref() == Some("paid")
                && status(cancelled_id).as_deref() == Some("cancelled")
        },
    )
    .await;
    consumer.stop().await.unwrap();
    core.server.stop().await.unwrap();
}

#[tokio::test]
async fn the_time_window_the_status_and_the_per_second_cap_are_enforced() {
    let sale = Sale::new().await;
    let now = sk_common::time::now_ms();
    let mut later = open_activity(10, 10);
    later.start_at_ms = now + 3_600_000;
    later.end_at_ms = now + 7_200_000;
    let mut over = open_activity(10, 10);
    over.start_at_ms = now - 7_200_000;
    over.end_at_ms = now - 3_600_000;
    let mut closed = open_activity(10, 10);
    closed.open = false;
    let mut capped = open_activity(100, 100);
    capped.max_sold_per_sec = Some(3);
    for (id, spec) in [(4, &later), (5, &over), (6, &closed), (7, &capped)] {
        sale.put_activity(id, spec).await;
    }
    let core = sale.spawn_core(&[]).await;

    let code = |(status, body): (StatusCode, serde_json::Value)| {
        (
            status.as_u16(),
            body["code"].as_str().unwrap_or_default().to_owned(),
        )
    };
    assert_eq!(
        code(core.reserve(4, "u", 1).await),
        (409, "not_started".into())
    );
    assert_eq!(code(core.reserve(5, "u", 1).await), (410, "ended".into()));
    assert_eq!(code(core.reserve(6, "u", 1).await), (410, "ended".into()));
    assert_eq!(
        code(core.reserve(7, "u", 101).await).0,
        400,
        "quantity above 100 is refused"
    );
    assert_eq!(
        code(core.reserve(7, "u", 20).await),
        (429, "try_again".into()),
        "20 units > cap 3"
    );
    for id in [4, 5, 6] {
        assert_eq!(sale.remaining(id).await, 10, "a refusal changes nothing");
    }
    assert_eq!(sale.remaining(7).await, 100);
    core.server.stop().await.unwrap();
}

/// sk-app instances keep a local sold-out flag from these announcements, so the restock one
/// matters as much as the sold-out one (a stale flag would undersell).
#[tokio::test]
async fn selling_the_last_unit_and_returning_it_are_announced() {
    let sale = Sale::new().await;
    sale.put_activity(8, &open_activity(1, 1)).await;
    let core = sale.spawn_core(&[]).await;
    let client = redis::Client::open(sk_common::testing::redis_url()).unwrap();
    let mut events = client.get_async_pubsub().await.unwrap();
    events
        .subscribe(sale.inventory.stock_channel())
        .await
        .unwrap();
    let mut messages = events.on_message();

    let (_, order) = core.reserve(8, "dave", 1).await;
    assert_eq!(
        next_event(&mut messages).await,
        serde_json::json!({"activity_id": 8, "remaining": 0})
    );
    core.cancel(order["order_id"].as_str().unwrap(), "dave")
        .await;
    assert_eq!(
        next_event(&mut messages).await,
        serde_json::json!({"activity_id": 8, "remaining": 1})
    );
    core.server.stop().await.unwrap();
}

async fn next_event(
    messages: &mut (impl futures_util::Stream<Item = redis::Msg> + Unpin),
) -> serde_json::Value {
    let message = tokio::time::timeout(sk_common::testing::DEADLINE, messages.next())
        .await
        .unwrap()
        .unwrap();
    serde_json::from_slice(message.get_payload_bytes()).unwrap()
}
