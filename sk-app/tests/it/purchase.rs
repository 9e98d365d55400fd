//! The authenticated purchase path: sk-app in front of a real sk-core on the local Redis.
//! Who buys is always the verified token's `sub`; sk-core's refusals reach the shopper
//! unchanged; a dead or hanging sk-core costs the shopper a quick 503 or 429, never a hang.

use std::time::Duration;

use serde_json::json;
use sk_common::domain::Role;
use sk_common::testing::{BlackHole, eventually, forged_jwt};

use crate::helpers::Shop;

#[tokio::test]
async fn time_needs_no_token() {
    let shop = Shop::core_down().await;
    let (status, body) = shop.app.get_json("/api/v1/time").await;
    assert_eq!(status, 200);
    assert!(body["now_ms"].as_u64().unwrap() > 1_700_000_000_000);
}

#[tokio::test]
async fn a_purchase_belongs_to_the_tokens_subject() {
    let shop = Shop::start().await;
    shop.open_activity(1, 10, 1).await;
    let alice = shop.shopper("alice");

    let bought = shop.buy(&alice, 1, 1).await;
    assert_eq!(bought.status, 200, "{:?}", bought.body);
    let order = bought.body["order_id"].as_str().unwrap();
    assert!(bought.body["token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(bought.body["expires_at"].is_string());
    assert_eq!(bought.body["quantity"], 1);

    let mine = shop.order(&alice, order).await;
    assert_eq!(mine.status, 200, "{:?}", mine.body);
    assert_eq!(mine.body["order_id"], order);
    assert_eq!(mine.body["status"], "reserved");
    let theirs = shop.order(&shop.shopper("bob"), order).await;
    assert_eq!((theirs.status, theirs.code()), (404, "order_not_found"));
}

#[tokio::test]
async fn admins_may_buy_too() {
    let shop = Shop::start().await;
    shop.open_activity(1, 10, 1).await;
    let bought = shop.buy(&shop.token("ops", Role::Admin), 1, 1).await;
    assert_eq!(bought.status, 200, "{:?}", bought.body);
}

#[tokio::test]
async fn no_or_forged_token_is_401() {
    let shop = Shop::core_down().await;
    let forged = forged_jwt(
        &json!({"alg": "HS256", "typ": "JWT", "kid": "dev-1"}),
        &json!({"sub": "alice", "role": "shopper", "iat": 1, "exp": 4_000_000_000_u64}),
        Some("not-the-secret-0123456789abcdef0123456789"),
    );
    for token in [None, Some("garbage"), Some(forged.as_str())] {
        let answer = shop.purchase(token, 1, json!({"quantity": 1}), None).await;
        assert_eq!((answer.status, answer.code()), (401, "unauthenticated"));
    }
    let order = "0190f5c2-0000-7000-8000-000000000000";
    for answer in [
        shop.order(&forged, order).await,
        shop.pay(&forged, order, "t").await,
        shop.cancel(&forged, order).await,
    ] {
        assert_eq!((answer.status, answer.code()), (401, "unauthenticated"));
    }
}

#[tokio::test]
async fn a_user_id_in_the_body_is_refused_and_buys_nothing() {
    let shop = Shop::start().await;
    shop.open_activity(1, 10, 1).await;
    let alice = shop.shopper("alice");
    let body = json!({"quantity": 1, "user_id": "bob"});
    let refused = shop.purchase(Some(&alice), 1, body, None).await;
    assert_eq!((refused.status, refused.code()), (400, "invalid_request"));
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("unknown field")
    );

    // Nothing was bought for bob (limit 1): he can still buy, and so can alice.
    assert_eq!(shop.buy(&shop.shopper("bob"), 1, 1).await.status, 200);
    assert_eq!(shop.buy(&alice, 1, 1).await.status, 200);
}

#[tokio::test]
async fn bad_quantities_and_keys_are_400() {
    let shop = Shop::core_down().await;
    let alice = shop.shopper("alice");
    for body in [
        json!({"quantity": 0}),
        json!({"quantity": -1}),
        json!({"quantity": "one"}),
        json!({}),
        json!(null),
    ] {
        let answer = shop.purchase(Some(&alice), 1, body.clone(), None).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, "invalid_request"),
            "{body}"
        );
    }
    let long = "k".repeat(129);
    for key in ["has space", long.as_str()] {
        let answer = shop
            .purchase(Some(&alice), 1, json!({"quantity": 1}), Some(key))
            .await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, "invalid_request"),
            "{key}"
        );
    }
}

#[tokio::test]
async fn sk_cores_refusals_pass_through() {
    let shop = Shop::start().await;
    shop.open_activity(1, 1, 1).await;
    assert_eq!(shop.buy(&shop.shopper("alice"), 1, 1).await.status, 200);

    let sold_out = shop.buy(&shop.shopper("bob"), 1, 1).await;
    assert_eq!((sold_out.status, sold_out.code()), (409, "sold_out"));
    assert!(!sold_out.body["message"].as_str().unwrap().is_empty());
    let unknown = shop.buy(&shop.shopper("bob"), 999, 1).await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (404, "activity_not_found")
    );
    let bad_id = shop.buy(&shop.shopper("bob"), 0, 1).await;
    assert_eq!((bad_id.status, bad_id.code()), (404, "activity_not_found"));
}

#[tokio::test]
async fn the_same_idempotency_key_gives_the_same_order() {
    let shop = Shop::start().await;
    shop.open_activity(1, 10, 5).await;
    let alice = shop.shopper("alice");
    let body = json!({"quantity": 1});
    let first = shop
        .purchase(Some(&alice), 1, body.clone(), Some("key-1"))
        .await;
    let again = shop
        .purchase(Some(&alice), 1, body.clone(), Some("key-1"))
        .await;
    let other = shop.purchase(Some(&alice), 1, body, Some("key-2")).await;
    assert_eq!((first.status, again.status, other.status), (200, 200, 200));
    assert_eq!(first.body["order_id"], again.body["order_id"]);
    assert_ne!(first.body["order_id"], other.body["order_id"]);
}

#[tokio::test]
async fn pay_cancel_and_their_refusals() {
    let shop = Shop::start().await;
    shop.open_activity(1, 10, 2).await;
    let alice = shop.shopper("alice");
    let bought = shop.buy(&alice, 1, 1).await;
    let order = bought.body["order_id"].as_str().unwrap();
    let token = bought.body["token"].as_str().unwrap();

    let forged = shop.pay(&alice, order, "not-a-token").await;
    assert_eq!((forged.status, forged.code()), (403, "invalid_token"));
    for _ in 0..2 {
        let paid = shop.pay(&alice, order, token).await;
        assert_eq!((paid.status, &paid.body), (200, &json!({"status": "paid"})));
    }
    let late = shop.cancel(&alice, order).await;
    assert_eq!((late.status, late.code()), (409, "already_paid"));
    let not_hers = shop.cancel(&shop.shopper("bob"), order).await;
    assert_eq!((not_hers.status, not_hers.code()), (404, "order_not_found"));

    let second = shop.buy(&alice, 1, 1).await;
    let second = second.body["order_id"].as_str().unwrap();
    let cancelled = shop.cancel(&alice, second).await;
    assert_eq!(cancelled.body, json!({"status": "cancelled"}));
    let malformed = shop.order(&alice, "not-an-order-id").await;
    assert_eq!(
        (malformed.status, malformed.code()),
        (404, "order_not_found")
    );
}

/// One payment sent many times at once (a double click, a client's retry) makes calls to
/// sk-core alike in method, path and body, several in the same millisecond: each has a nonce
/// of its own, so sk-core serves every one (paying twice is 200 again), none as a replay.
#[tokio::test]
async fn the_same_payment_sent_many_times_at_once_is_200_every_time() {
    let shop = Shop::start().await;
    shop.open_activity(1, 10, 1).await;
    let alice = shop.shopper("alice");
    let bought = shop.buy(&alice, 1, 1).await;
    let order = bought.body["order_id"].as_str().unwrap();
    let token = bought.body["token"].as_str().unwrap();
    let payments = (0..20).map(|_| shop.pay(&alice, order, token));
    for paid in futures_util::future::join_all(payments).await {
        assert_eq!((paid.status, &paid.body), (200, &json!({"status": "paid"})));
    }
}

#[tokio::test]
async fn sk_core_down_is_503_with_retry_after() {
    let shop = Shop::core_down().await;
    shop.open_activity(1, 10, 1).await;
    let answer = shop.buy(&shop.shopper("alice"), 1, 1).await;
    assert_eq!((answer.status, answer.code()), (503, "unavailable"));
    assert_eq!(answer.retry_after.as_deref(), Some("1"));
}

#[tokio::test]
async fn a_second_purchase_in_flight_gets_429_at_once() {
    let hole = BlackHole::start().await;
    let url = format!("http://{}", hole.addr());
    let shop = Shop::with_core_url(url, &[("SK_CORE__TIMEOUT_MS", "2000".into())]).await;
    shop.open_activity(1, 10, 1).await;
    // Readiness probes of sk-core's /healthz landed in the hole too.
    let probes = hole.accepted();
    let alice = shop.shopper("alice");
    let first = {
        let (shop, alice) = (&shop, alice.clone());
        async move { shop.buy(&alice, 1, 1).await }
    };
    let second = async {
        // The slot is taken before sk-core is called: once the hole has the call, it is held.
        eventually("the first purchase reaches sk-core", || async {
            hole.accepted() > probes
        })
        .await;
        let answer = tokio::time::timeout(Duration::from_secs(1), shop.buy(&alice, 1, 1)).await;
        answer.expect("the in-flight check answers at once")
    };
    let (first, second) = tokio::join!(first, second);
    assert_eq!((second.status, second.code()), (429, "try_again"));
    assert_eq!(second.retry_after.as_deref(), Some("1"));
    assert_eq!((first.status, first.code()), (503, "unavailable"));
    assert_eq!(first.retry_after.as_deref(), Some("1"));

    // The timed-out call freed its slot: the next try reaches sk-core (and times out) again.
    let third = shop.buy(&alice, 1, 1).await;
    assert_eq!((third.status, third.code()), (503, "unavailable"));
    assert_eq!(hole.accepted(), probes + 2);
}

#[tokio::test]
async fn a_secret_sk_core_refuses_is_503_not_401() {
    let shop = Shop::start().await;
    let core = format!("http://{}", shop.core.as_ref().unwrap().addr);
    let wrong = "another-internal-secret-0123456789abcdef".to_owned();
    let misconfigured = Shop::with_core_url(core, &[("SK_SECURITY__INTERNAL_SECRET", wrong)]).await;
    misconfigured.open_activity(1, 10, 1).await;
    let answer = misconfigured
        .buy(&misconfigured.shopper("alice"), 1, 1)
        .await;
    assert_eq!((answer.status, answer.code()), (503, "unavailable"));
}

/// Order status is read from the live state in Redis: at once after each transition, and
/// without a call to sk-core (reads add nothing to the purchase path's authority).
#[tokio::test]
async fn order_status_comes_from_redis_without_asking_sk_core() {
    let shop = Shop::start().await;
    shop.open_activity(1, 10, 1).await;
    let alice = shop.shopper("alice");
    let bought = shop.buy(&alice, 1, 1).await;
    assert_eq!(bought.status, 200, "{:?}", bought.body);
    let order = bought.body["order_id"].as_str().unwrap();

    let before = shop.core_calls();
    for _ in 0..5 {
        let status = shop.order(&alice, order).await;
        assert_eq!(status.body["status"], "reserved", "{:?}", status.body);
    }
    let theirs = shop.order(&shop.shopper("bob"), order).await;
    assert_eq!((theirs.status, theirs.code()), (404, "order_not_found"));
    assert_eq!(shop.core_calls(), before, "no lookup reached sk-core");

    let token = bought.body["token"].as_str().unwrap();
    assert_eq!(shop.pay(&alice, order, token).await.status, 200);
    assert_eq!(shop.order(&alice, order).await.body["status"], "paid");
}
