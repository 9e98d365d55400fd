//! A purchase end to end through the gateway: gateway → sk-app (two instances) → sk-core →
//! Redis, then the order read back and paid through the same public door.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{EdgeShop, send};

#[tokio::test]
async fn a_purchase_through_the_gateway_is_reserved_then_paid_by_its_owner_only() {
    let shop = EdgeShop::start(2).await;
    shop.open_activity(7, 10, 1).await;
    let (alice, bob) = (shop.shopper("alice"), shop.shopper("bob"));

    let bought = shop.buy(&alice, 7, 1).await;
    assert_eq!(bought.status, 200, "{bought:?}");
    let order = bought.body["order_id"].as_str().unwrap().to_owned();
    let token = bought.body["token"].clone();
    assert!(token.as_str().is_some_and(|t| !t.is_empty()), "{bought:?}");
    assert!(bought.body["expires_at"].is_string(), "{bought:?}");
    assert_eq!(bought.body["quantity"], 1);
    assert!(
        bought.header("x-request-id").is_some(),
        "the gateway names every request"
    );

    let status = shop.order(&alice, &order).await;
    assert_eq!(status.status, 200, "{status:?}");
    assert_eq!(status.body["status"], "reserved");
    assert_eq!(status.body["activity_id"], 7);

    // Bob's own purchase token does not pay Alice's order, in her name or his.
    let bobs = shop.buy(&bob, 7, 1).await;
    assert_eq!(bobs.status, 200, "{bobs:?}");
    let bobs_token = bobs.body["token"].clone();
    for payer in [&alice, &bob] {
        let refused = shop.pay(payer, &order, &bobs_token).await;
        assert_eq!(
            (refused.status, refused.code()),
            (403, "invalid_token"),
            "{refused:?}"
        );
    }
    assert_eq!(shop.order(&alice, &order).await.body["status"], "reserved");

    let paid = shop.pay(&alice, &order, &token).await;
    assert_eq!(
        (paid.status, &paid.body["status"]),
        (200, &Value::from("paid")),
        "{paid:?}"
    );
    let again = shop.pay(&alice, &order, &token).await;
    assert_eq!(again.status, 200, "paying twice is 200 again: {again:?}");
    assert_eq!(shop.order(&alice, &order).await.body["status"], "paid");

    // The clock sk-app serves for countdowns, through the gateway, no token needed.
    let time = send(shop.request(Method::GET, "/api/v1/time", None)).await;
    assert!(time.body["now_ms"].as_u64().is_some(), "{time:?}");
}
