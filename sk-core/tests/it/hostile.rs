//! Issue test 7: hostile input gets the right 4xx and leaves Redis exactly as it was.

use reqwest::Method;
use serde_json::json;
use sk_common::domain::{ActivityId, OrderId, Quantity, UserId};
use sk_common::purchase_token::{PurchaseClaims, PurchaseTokens};
use sk_common::signing::Nonce;

use crate::helpers::{Sale, Signature, open_activity};

/// name, method, path, body, signature → expected status and code.
type Case = (
    &'static str,
    Method,
    String,
    Vec<u8>,
    Signature,
    u16,
    &'static str,
);

#[tokio::test]
async fn hostile_requests_are_refused_and_change_nothing() {
    let sale = Sale::new().await;
    sale.put_activity(1, &open_activity(10, 2)).await;
    let core = sale.spawn_core(&[]).await;
    // One real order, so pay/cancel attacks have something to aim at.
    let (_, order) = core.reserve(1, "alice", 1).await;
    let order_id = order["order_id"].as_str().unwrap().to_owned();
    sale.outbox_drained(1).await;
    let before = sale.snapshot().await;

    let reserve = "/internal/v1/activities/1/reserve";
    let good = br#"{"user_id":"bob","quantity":1}"#.to_vec();
    let cases: Vec<Case> = vec![
        (
            "wrong secret",
            Method::POST,
            reserve.into(),
            good.clone(),
            Signature::WrongSecret,
            401,
            "invalid_signature",
        ),
        (
            "no signature",
            Method::POST,
            reserve.into(),
            good.clone(),
            Signature::None,
            401,
            "invalid_signature",
        ),
        (
            "no nonce",
            Method::POST,
            reserve.into(),
            good.clone(),
            Signature::NoNonce,
            401,
            "invalid_signature",
        ),
        (
            "a nonce other than the signed one",
            Method::POST,
            reserve.into(),
            good.clone(),
            Signature::TamperedNonce(Nonce::generate()),
            401,
            "invalid_signature",
        ),
        (
            "malformed nonce",
            Method::POST,
            reserve.into(),
            good.clone(),
            Signature::MalformedNonce,
            401,
            "invalid_signature",
        ),
        (
            "stale timestamp",
            Method::POST,
            reserve.into(),
            good.clone(),
            Signature::AgedMs(60_000),
            401,
            "stale_request",
        ),
        (
            "quantity 0",
            Method::POST,
            reserve.into(),
            br#"{"user_id":"bob","quantity":0}"#.to_vec(),
            Signature::Valid,
            400,
            "invalid_request",
        ),
        (
            "negative quantity",
            Method::POST,
            reserve.into(),
            br#"{"user_id":"bob","quantity":-1}"#.to_vec(),
            Signature::Valid,
            400,
            "invalid_request",
        ),
        (
            "huge quantity",
            Method::POST,
            reserve.into(),
            br#"{"user_id":"bob","quantity":99999999999999999999}"#.to_vec(),
            Signature::Valid,
            400,
            "invalid_request",
        ),
        (
            "quantity as text",
            Method::POST,
            reserve.into(),
            br#"{"user_id":"bob","quantity":"one"}"#.to_vec(),
            Signature::Valid,
            400,
            "invalid_request",
        ),
        (
            "bad user id",
            Method::POST,
            reserve.into(),
            br#"{"user_id":"bob smith","quantity":1}"#.to_vec(),
            Signature::Valid,
            400,
            "invalid_request",
        ),
        (
            "unknown field",
            Method::POST,
            reserve.into(),
            br#"{"user_id":"bob","quantity":1,"price":0}"#.to_vec(),
            Signature::Valid,
            400,
            "invalid_request",
        ),
        (
            "malformed JSON",
            Method::POST,
            reserve.into(),
            b"{\"user_id\":".to_vec(),
            Signature::Valid,
            400,
            "invalid_request",
        ),
        (
            "unknown activity",
            Method::POST,
            "/internal/v1/activities/999/reserve".into(),
            good.clone(),
            Signature::Valid,
            404,
            "activity_not_found",
        ),
        (
            "activity id not a number",
            Method::POST,
            "/internal/v1/activities/abc/reserve".into(),
            good.clone(),
            Signature::Valid,
            404,
            "activity_not_found",
        ),
        (
            "forged token",
            Method::POST,
            format!("/internal/v1/orders/{order_id}/pay"),
            serde_json::to_vec(&json!({"user_id":"alice","token":"v1.1.1.9999999999999.00"}))
                .unwrap(),
            Signature::Valid,
            403,
            "invalid_token",
        ),
        (
            "someone else's token",
            Method::POST,
            format!("/internal/v1/orders/{order_id}/pay"),
            serde_json::to_vec(&json!({"user_id":"mallory","token":order["token"]})).unwrap(),
            Signature::Valid,
            403,
            "invalid_token",
        ),
        (
            "cancel someone else's order",
            Method::POST,
            format!("/internal/v1/orders/{order_id}/cancel"),
            br#"{"user_id":"mallory"}"#.to_vec(),
            Signature::Valid,
            404,
            "order_not_found",
        ),
        (
            "cancel an unknown order",
            Method::POST,
            format!("/internal/v1/orders/{}/cancel", OrderId::generate()),
            br#"{"user_id":"alice"}"#.to_vec(),
            Signature::Valid,
            404,
            "order_not_found",
        ),
        (
            "order id not a uuid",
            Method::POST,
            "/internal/v1/orders/42/cancel".into(),
            br#"{"user_id":"alice"}"#.to_vec(),
            Signature::Valid,
            404,
            "order_not_found",
        ),
        (
            "order status without user",
            Method::GET,
            format!("/internal/v1/orders/{order_id}"),
            Vec::new(),
            Signature::Valid,
            400,
            "invalid_request",
        ),
    ];
    for (name, method, path, body, signature, status, code) in cases {
        let (got_status, got) = core.send_raw(method, &path, body, signature).await;
        assert_eq!(
            (got_status.as_u16(), got["code"].as_str()),
            (status, Some(code)),
            "{name}: {got}"
        );
    }
    assert_eq!(
        sale.snapshot().await,
        before,
        "a refused request changed Redis"
    );
    core.server.stop().await.unwrap();
}

/// A token signed with the right secret for a different quantity or deadline than the order
/// has is refused by the pay script (the token binds the order's terms).
#[tokio::test]
async fn a_token_with_other_terms_does_not_pay_the_order() {
    let sale = Sale::new().await;
    sale.put_activity(1, &open_activity(10, 5)).await;
    let core = sale.spawn_core(&[]).await;
    let (_, order) = core.reserve(1, "alice", 1).await;
    let order_id = OrderId::parse(order["order_id"].as_str().unwrap()).unwrap();
    let tokens = PurchaseTokens::new(crate::helpers::TOKEN_SECRET.to_owned().into());
    let inflated = tokens.issue(&PurchaseClaims {
        order_id,
        user_id: UserId::parse("alice").unwrap(),
        activity_id: ActivityId::new(1).unwrap(),
        quantity: Quantity::new(1).unwrap(),
        expires_at_ms: order["expires_at_ms"].as_u64().unwrap() + 3_600_000,
    });
    sale.outbox_drained(1).await;
    let before = sale.snapshot().await;
    let (status, body) = core.pay(&order_id.to_string(), "alice", &inflated).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (404, Some("order_not_found"))
    );
    assert_eq!(sale.snapshot().await, before);
    core.server.stop().await.unwrap();
}
