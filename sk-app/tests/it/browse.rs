//! Browsing and the caller's orders: read from MySQL (catalog, ledger) and Redis (`remaining`),
//! never from sk-core (a closed port in every test here). Keyset pages are stable and complete,
//! bad cursors are 400, unknown ids 404, a down MySQL is 503 with Retry-After, never a 500.

use std::collections::HashSet;

use serde_json::Value;
use sk_common::cursor;
use sk_common::time::now_ms;

use crate::helpers::{Sale, Window};

const HOUR: u64 = 3_600_000;

/// A sale that opened `ago_ms` before now and lasts an hour from its start.
fn sale_started(ago_ms: u64) -> Sale {
    let start_ms = now_ms() - ago_ms;
    Sale {
        start_ms,
        end_ms: start_ms + HOUR,
        total_stock: 10,
    }
}

fn ids(page: &Value) -> Vec<u64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn the_list_pages_latest_start_first_without_duplicates() {
    let window = Window::start().await;
    let tie = sale_started(5 * HOUR);
    let mut expected = Vec::new();
    for (name, sale) in [
        ("oldest", sale_started(9 * HOUR)),
        ("tie-a", tie),
        ("newest", sale_started(0)),
        ("tie-b", tie),
        ("middle", sale_started(2 * HOUR)),
        ("tie-c", tie),
        ("old", sale_started(7 * HOUR)),
    ] {
        expected.push((sale.start_ms, window.add_sale(name, sale).await));
    }
    // Latest start first; equal starts by id, highest first.
    expected.sort_by(|a, b| b.cmp(a));
    let expected: Vec<u64> = expected.into_iter().map(|(_, id)| id).collect();

    let mut seen = Vec::new();
    let mut path = "/api/v1/activities?limit=3".to_owned();
    for page_size in [3, 3, 1] {
        let page = window.get(&path, None).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        assert_eq!(ids(&page.body).len(), page_size);
        seen.extend(ids(&page.body));
        match page.body["next_cursor"].as_str() {
            Some(next) => path = format!("/api/v1/activities?limit=3&cursor={next}"),
            None => assert_eq!(page_size, 1, "only the last page has no cursor"),
        }
    }
    assert_eq!(seen, expected);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len());
}

#[tokio::test]
async fn bad_cursors_and_limits_are_400() {
    let window = Window::start().await;
    let foreign = cursor::encode(&serde_json::json!({"order_id": "x"}));
    for bad in ["garbage", "' OR 1=1 --", foreign.as_str()] {
        let path = format!("/api/v1/activities?cursor={bad}");
        let answer = window.get(&path, None).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, "invalid_cursor"),
            "{bad}"
        );
    }
    for limit in ["0", "201", "ten", "-1"] {
        let answer = window
            .get(&format!("/api/v1/activities?limit={limit}"), None)
            .await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, "invalid_request"),
            "{limit}"
        );
    }
    let token = window.shopper("alice");
    let answer = window
        .get("/api/v1/orders?cursor=garbage", Some(&token))
        .await;
    assert_eq!((answer.status, answer.code()), (400, "invalid_cursor"));
}

#[tokio::test]
async fn the_detail_has_its_status_and_the_live_remaining() {
    let window = Window::start().await;
    let open = sale_started(1_000);
    let open_id = window.add_sale("open", open).await;
    window.push(open_id, open).await;
    let answer = window
        .get(&format!("/api/v1/activities/{open_id}"), None)
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let body = &answer.body;
    assert_eq!(
        (body["id"].as_u64(), body["name"].as_str()),
        (Some(open_id), Some("open"))
    );
    assert_eq!(
        (body["status"].as_str(), body["remaining"].as_u64()),
        (Some("open"), Some(10))
    );
    assert_eq!(body["price_cents"], 1_999);
    assert_eq!(
        (
            body["total_stock"].as_u64(),
            body["per_user_limit"].as_u64()
        ),
        (Some(10), Some(2))
    );
    assert!(body["start_at"].as_str().unwrap().ends_with('Z'));
    assert!(body.get("sold").is_none(), "no admin figures: {body}");

    window.set_remaining(open_id, 3).await;
    let after = window
        .get(&format!("/api/v1/activities/{open_id}"), None)
        .await;
    assert_eq!(after.body["remaining"], 3);

    // Not in Redis (never pushed): remaining unknown, never a guess.
    let later = sale_started(0).start_ms + HOUR;
    let scheduled = Sale {
        start_ms: later,
        end_ms: later + HOUR,
        total_stock: 5,
    };
    let scheduled = window.add_sale("later", scheduled).await;
    let ended = window.add_sale("ended", sale_started(2 * HOUR)).await;
    let closed = window.add_sale("closed", sale_started(1_000)).await;
    window
        .exec(
            "UPDATE activities SET closed_at = NOW(3) WHERE id = ?",
            (closed,),
        )
        .await;
    for (id, status) in [
        (scheduled, "scheduled"),
        (ended, "ended"),
        (closed, "closed"),
    ] {
        let answer = window.get(&format!("/api/v1/activities/{id}"), None).await;
        assert_eq!(answer.body["status"], status);
        assert_eq!(answer.body["remaining"], Value::Null);
    }
}

#[tokio::test]
async fn unknown_or_garbage_ids_are_404() {
    let window = Window::start().await;
    window.add_sale("real", sale_started(0)).await;
    for id in [
        "999",
        "0",
        "-1",
        "abc",
        "1.5",
        "99999999999999999999999",
        "%20",
    ] {
        let answer = window.get(&format!("/api/v1/activities/{id}"), None).await;
        assert_eq!(
            (answer.status, answer.code()),
            (404, "activity_not_found"),
            "{id}"
        );
    }
}

#[tokio::test]
async fn catalog_rows_are_reused_for_cache_ms_and_remaining_is_not() {
    let window = Window::start_with(&[
        ("SK_BROWSE__CACHE_MS", "60000".into()),
        ("SK_BROWSE__REMAINING_CACHE_MS", "0".into()),
    ])
    .await;
    let sale = sale_started(1_000);
    let id = window.add_sale("before", sale).await;
    window.push(id, sale).await;
    let path = format!("/api/v1/activities/{id}");
    assert_eq!(window.get(&path, None).await.body["name"], "before");
    assert_eq!(
        window.get("/api/v1/activities", None).await.body["items"][0]["name"],
        "before"
    );

    window
        .exec("UPDATE activities SET name = 'after' WHERE id = ?", (id,))
        .await;
    window.set_remaining(id, 4).await;
    let detail = window.get(&path, None).await;
    assert_eq!(
        (&detail.body["name"], &detail.body["remaining"]),
        (&"before".into(), &4.into())
    );
    let list = window.get("/api/v1/activities", None).await;
    assert_eq!(list.body["items"][0]["name"], "before");
    assert_eq!(list.body["items"][0]["remaining"], 4);
}

#[tokio::test]
async fn my_orders_are_only_mine_newest_first() {
    let window = Window::start().await;
    let sale = window.add_sale("sale", sale_started(1_000)).await;
    let mut alices = Vec::new();
    for quantity in 1..=5 {
        alices.push(window.add_order("alice", sale, quantity).await);
        window.add_order("bob", sale, 1).await;
    }
    alices.sort_by(|a, b| b.cmp(a));
    let expected: Vec<String> = alices.iter().map(ToString::to_string).collect();

    let alice = window.shopper("alice");
    let mut seen = Vec::new();
    let mut path = "/api/v1/orders?limit=2".to_owned();
    loop {
        let page = window.get(&path, Some(&alice)).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        for item in page.body["items"].as_array().unwrap() {
            assert_eq!(item["activity_id"].as_u64(), Some(sale));
            assert_eq!(item["status"], "reserved");
            assert!(item["expires_at"].is_string() && item.get("user_id").is_none());
            seen.push(item["order_id"].as_str().unwrap().to_owned());
        }
        let Some(next) = page.body["next_cursor"].as_str() else {
            break;
        };
        path = format!("/api/v1/orders?limit=2&cursor={next}");
    }
    assert_eq!(seen, expected);

    let bobs = window
        .get("/api/v1/orders", Some(&window.shopper("bob")))
        .await;
    assert_eq!(bobs.body["items"].as_array().unwrap().len(), 5);
    let carol = window
        .get("/api/v1/orders", Some(&window.shopper("carol")))
        .await;
    assert_eq!(
        carol.body,
        serde_json::json!({"items": [], "next_cursor": null})
    );
}

#[tokio::test]
async fn my_orders_need_a_token() {
    let window = Window::start().await;
    for token in [None, Some("garbage")] {
        let answer = window.get("/api/v1/orders", token).await;
        assert_eq!((answer.status, answer.code()), (401, "unauthenticated"));
    }
}

#[tokio::test]
async fn mysql_down_is_503_with_retry_after_not_500() {
    // Ready all the same: MySQL is observed, not required, so purchases keep flowing.
    let window = Window::mysql_down().await;
    let alice = window.shopper("alice");
    for (path, token) in [
        ("/api/v1/activities", None),
        ("/api/v1/activities/1", None),
        ("/api/v1/orders", Some(alice.as_str())),
    ] {
        let answer = window.get(path, token).await;
        assert_eq!(
            (answer.status, answer.code()),
            (503, "unavailable"),
            "{path}"
        );
        assert_eq!(answer.retry_after.as_deref(), Some("1"), "{path}");
    }
    let (status, ready) = window.app.get_json("/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(window.get("/api/v1/time", None).await.status, 200);
}
