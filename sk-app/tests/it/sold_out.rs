//! The local sold-out flag: once sk-core's stock event says an activity sold out, sk-app
//! refuses purchases itself (sk-core never hears of them); a cancellation that brings units
//! back clears the flag through the restock event, and the next purchase succeeds. A retry
//! with the first attempt's `Idempotency-Key` still reaches sk-core and gets its order back;
//! a key the sale does not know is refused by sk-app alone.

use sk_common::testing::eventually;

use crate::helpers::Shop;

#[tokio::test]
async fn sold_out_purchases_stop_at_sk_app_until_a_unit_comes_back() {
    let limits = [
        ("SK_LIMITS__USER_PER_SEC", "1000".to_owned()),
        ("SK_LIMITS__USER_BURST", "1000".to_owned()),
    ];
    let shop = Shop::start_with(&limits).await;
    shop.open_activity(1, 1, 1).await;
    let alice = shop.shopper("alice");
    let bought = shop.buy(&alice, 1, 1).await;
    assert_eq!(bought.status, 200, "{:?}", bought.body);
    let order = bought.body["order_id"].as_str().unwrap().to_owned();

    // Once the stock event is in, a refusal no longer reaches sk-core.
    let bob = shop.shopper("bob");
    eventually("a sold-out refusal made by sk-app alone", || async {
        let before = shop.core_calls();
        let answer = shop.buy(&bob, 1, 1).await;
        assert_eq!((answer.status, answer.code()), (409, "sold_out"));
        shop.core_calls() == before
    })
    .await;
    let before = shop.core_calls();
    for shopper in 0..20 {
        let answer = shop.buy(&shop.shopper(&format!("s{shopper}")), 1, 1).await;
        assert_eq!((answer.status, answer.code()), (409, "sold_out"));
    }
    assert_eq!(shop.core_calls(), before, "sk-core saw none of them");

    // Alice's cancellation returns the unit; the restock event clears the flag.
    assert_eq!(shop.cancel(&alice, &order).await.status, 200);
    let carol = shop.shopper("carol");
    eventually("the restocked unit to be sold again", || async {
        let answer = shop.buy(&carol, 1, 1).await;
        assert!(matches!(answer.status, 200 | 409), "{:?}", answer.body);
        answer.status == 200
    })
    .await;
}

/// A retry carrying the first attempt's `Idempotency-Key` gets that order back even after the
/// sale sold out: the answer to the first attempt may have been lost on the way.
#[tokio::test]
async fn a_keyed_retry_after_sell_out_returns_the_same_order() {
    let shop = Shop::start().await;
    shop.open_activity(1, 1, 1).await;
    let alice = shop.shopper("alice");
    let body = serde_json::json!({"quantity": 1});
    let first = shop
        .purchase(Some(&alice), 1, body.clone(), Some("k-1"))
        .await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let bob = shop.shopper("bob");
    eventually("the sold-out flag to be set", || async {
        let before = shop.core_calls();
        let answer = shop.buy(&bob, 1, 1).await;
        answer.code() == "sold_out" && shop.core_calls() == before
    })
    .await;
    let retry = shop
        .purchase(Some(&alice), 1, body.clone(), Some("k-1"))
        .await;
    assert_eq!(retry.status, 200, "{:?}", retry.body);
    assert_eq!(retry.body["order_id"], first.body["order_id"]);

    // A key the sale does not know buys nothing, and sk-app refuses it without sk-core.
    let before = shop.core_calls();
    let other_key = shop
        .purchase(Some(&alice), 1, body.clone(), Some("k-2"))
        .await;
    assert_eq!(
        (other_key.status, other_key.code()),
        (409, "sold_out"),
        "a new key buys nothing: {:?}",
        other_key.body
    );
    let carol = shop.shopper("carol");
    for attempt in 0..5 {
        let key = format!("carol-{attempt}");
        let answer = shop
            .purchase(Some(&carol), 1, body.clone(), Some(&key))
            .await;
        assert_eq!((answer.status, answer.code()), (409, "sold_out"));
    }
    // Alice's own key under Carol's name is not Alice's order either.
    let borrowed = shop.purchase(Some(&carol), 1, body, Some("k-1")).await;
    assert_eq!((borrowed.status, borrowed.code()), (409, "sold_out"));
    assert_eq!(shop.core_calls(), before, "sk-core saw none of them");
}
