//! Every error code of the purchase row of DESIGN §3, each produced by a real scenario: status,
//! code, and `Retry-After` where the contract names one. Refusals sk-app makes on its own are
//! shown against a dead sk-core (or by counting the calls that reach it).

use std::time::Duration;

use serde_json::json;
use sk_common::stock::ActivitySpec;
use sk_common::testing::{BlackHole, closed_port, eventually, open_activity};
use sk_common::time::now_ms;

use crate::helpers::{Answer, CoreCounter, Shop};

const HOUR_MS: u64 = 3_600_000;

fn assert_code(answer: &Answer, status: u16, code: &str) {
    assert_eq!(
        (answer.status, answer.code()),
        (status, code),
        "{:?}",
        answer.body
    );
}

/// The `Retry-After` seconds (asserting there is one).
fn retry_after(answer: &Answer) -> u64 {
    let value = answer.retry_after.as_deref().expect("a Retry-After header");
    value.parse().unwrap()
}

/// A sale of 10 units, 1 per user, changed by `change`.
fn sale(change: impl FnOnce(&mut ActivitySpec)) -> ActivitySpec {
    let mut spec = open_activity(10, 1);
    change(&mut spec);
    spec
}

#[tokio::test]
async fn invalid_request_is_400() {
    let shop = Shop::core_down().await;
    shop.open_activity(1, 10, 1).await;
    let alice = shop.shopper("alice");
    let answer = shop
        .purchase(Some(&alice), 1, json!({"quantity": 0}), None)
        .await;
    assert_code(&answer, 400, "invalid_request");
}

#[tokio::test]
async fn unauthenticated_is_401() {
    let shop = Shop::core_down().await;
    shop.open_activity(1, 10, 1).await;
    let answer = shop.purchase(None, 1, json!({"quantity": 1}), None).await;
    assert_code(&answer, 401, "unauthenticated");
}

#[tokio::test]
async fn blacklisted_is_403() {
    let shop = Shop::core_down().await;
    shop.open_activity(1, 10, 1).await;
    let mut redis = shop.redis().await;
    let event = json!({"kind": "user", "value": "mallory", "action": "added"});
    redis::pipe()
        .sadd(format!("{}:blacklist:users", shop.prefix), "mallory")
        .publish(
            format!("{}:blacklist-events", shop.prefix),
            event.to_string(),
        )
        .query_async::<()>(&mut redis)
        .await
        .unwrap();
    let mallory = shop.shopper("mallory");
    eventually("mallory to be refused", || async {
        shop.buy(&mallory, 1, 1).await.status == 403
    })
    .await;
    assert_code(&shop.buy(&mallory, 1, 1).await, 403, "blacklisted");
    // Everybody else goes on to sk-core (down here).
    assert_code(
        &shop.buy(&shop.shopper("alice"), 1, 1).await,
        503,
        "unavailable",
    );
}

#[tokio::test]
async fn an_unknown_activity_is_404() {
    let shop = Shop::core_down().await;
    let alice = shop.shopper("alice");
    // 999 is not in Redis; 0 cannot be an activity id.
    for id in [999, 0] {
        assert_code(&shop.buy(&alice, id, 1).await, 404, "activity_not_found");
    }
}

#[tokio::test]
async fn before_the_start_is_409_not_started() {
    let shop = Shop::core_down().await;
    let spec = sale(|s| {
        s.start_at_ms = now_ms() + HOUR_MS;
        s.end_at_ms = now_ms() + 2 * HOUR_MS;
    });
    shop.put_activity(1, &spec).await;
    assert_code(
        &shop.buy(&shop.shopper("alice"), 1, 1).await,
        409,
        "not_started",
    );
}

#[tokio::test]
async fn after_the_end_or_closed_is_410_ended() {
    let shop = Shop::core_down().await;
    let over = sale(|s| {
        s.start_at_ms = now_ms() - 2 * HOUR_MS;
        s.end_at_ms = now_ms() - HOUR_MS;
    });
    shop.put_activity(1, &over).await;
    shop.put_activity(2, &sale(|s| s.open = false)).await;
    let alice = shop.shopper("alice");
    assert_code(&shop.buy(&alice, 1, 1).await, 410, "ended");
    assert_code(&shop.buy(&alice, 2, 1).await, 410, "ended");
}

#[tokio::test]
async fn no_stock_left_is_409_sold_out() {
    let shop = Shop::start().await;
    shop.open_activity(1, 1, 1).await;
    assert_eq!(shop.buy(&shop.shopper("alice"), 1, 1).await.status, 200);
    assert_code(&shop.buy(&shop.shopper("bob"), 1, 1).await, 409, "sold_out");
}

#[tokio::test]
async fn over_the_per_user_limit_is_409_limit_exceeded() {
    let shop = Shop::start().await;
    shop.open_activity(1, 10, 1).await;
    let alice = shop.shopper("alice");
    assert_eq!(shop.buy(&alice, 1, 1).await.status, 200);
    assert_code(&shop.buy(&alice, 1, 1).await, 409, "limit_exceeded");
}

#[tokio::test]
async fn too_many_attempts_is_429_rate_limited_with_retry_after() {
    let limits = [
        ("SK_LIMITS__USER_PER_SEC", "1".to_owned()),
        ("SK_LIMITS__USER_BURST", "1".to_owned()),
    ];
    let shop = Shop::with_core_url(format!("http://{}", closed_port()), &limits).await;
    shop.open_activity(1, 10, 1).await;
    let alice = shop.shopper("alice");
    assert_code(&shop.buy(&alice, 1, 1).await, 503, "unavailable");
    let limited = shop.buy(&alice, 1, 1).await;
    assert_code(&limited, 429, "rate_limited");
    assert_eq!(retry_after(&limited), 1);
    // The limit is per user.
    assert_code(
        &shop.buy(&shop.shopper("bob"), 1, 1).await,
        503,
        "unavailable",
    );
}

#[tokio::test]
async fn a_losing_buy_rate_draw_is_429_try_again_with_retry_after() {
    let shop = Shop::core_down().await;
    // One attempt in a million gets through.
    shop.put_activity(1, &sale(|s| s.buy_rate_ppm = 1)).await;
    let answer = shop.buy(&shop.shopper("alice"), 1, 1).await;
    assert_code(&answer, 429, "try_again");
    assert_eq!(retry_after(&answer), 1);
}

#[tokio::test]
async fn a_purchase_already_in_flight_is_429_try_again_with_retry_after() {
    let hole = BlackHole::start().await;
    let slow_core = [("SK_CORE__TIMEOUT_MS", "1000".to_owned())];
    let shop = Shop::with_core_url(format!("http://{}", hole.addr()), &slow_core).await;
    shop.open_activity(1, 10, 1).await;
    // Readiness probes of sk-core's /healthz landed in the hole too.
    let probes = hole.accepted();
    let alice = shop.shopper("alice");
    let first = shop.buy(&alice, 1, 1);
    let second = async {
        eventually("the first purchase to reach sk-core", || async {
            hole.accepted() > probes
        })
        .await;
        shop.buy(&alice, 1, 1).await
    };
    let (first, second) = tokio::join!(first, second);
    assert_code(&second, 429, "try_again");
    assert_eq!(retry_after(&second), 1);
    assert_code(&first, 503, "unavailable");
}

#[tokio::test]
async fn sk_core_down_is_503_unavailable_with_retry_after() {
    let shop = Shop::core_down().await;
    shop.open_activity(1, 10, 1).await;
    let answer = shop.buy(&shop.shopper("alice"), 1, 1).await;
    assert_code(&answer, 503, "unavailable");
    assert_eq!(retry_after(&answer), 1);
}

#[tokio::test]
async fn an_open_breaker_is_503_unavailable_without_calling_sk_core() {
    // sk-core "answers" 502 through the counter: a failure, like a crashed instance.
    let counter = CoreCounter::start(closed_port()).await;
    let breaker = [
        ("SK_CORE__BREAKER__FAILURE_THRESHOLD", "2".to_owned()),
        ("SK_CORE__BREAKER__OPEN_MS", "30000".to_owned()),
    ];
    let shop = Shop::with_core_url(format!("http://{}", counter.addr()), &breaker).await;
    shop.open_activity(1, 10, 5).await;
    let alice = shop.shopper("alice");
    for _ in 0..2 {
        let failed = shop.buy(&alice, 1, 1).await;
        assert_code(&failed, 503, "unavailable");
        assert_eq!(retry_after(&failed), 1);
    }
    assert_eq!(counter.calls(), 2);
    let open = shop.buy(&alice, 1, 1).await;
    assert_code(&open, 503, "unavailable");
    let wait = Duration::from_secs(retry_after(&open));
    assert!(
        wait > Duration::from_secs(1) && wait <= Duration::from_secs(30),
        "{wait:?}"
    );
    assert_eq!(counter.calls(), 2, "an open breaker does not call sk-core");
}
