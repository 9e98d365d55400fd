//! Hostile and malformed requests through the whole edge (gateway → sk-app → sk-core): each
//! gets the right 4xx with a JSON `code`, never a 5xx, and buys nothing.

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::json;
use sk_common::testing::forged_jwt;

use crate::helpers::{Answer, EdgeShop, JWT_SECRET, send};

const PURCHASE: &str = "/api/v1/activities/1/purchase";

async fn post_raw(shop: &EdgeShop, token: Option<&str>, body: &'static str) -> Answer {
    let request = shop.request(Method::POST, PURCHASE, token);
    send(request.header(CONTENT_TYPE, "application/json").body(body)).await
}

fn assert_refused(answer: &Answer, status: u16, code: &str, what: &str) {
    assert_eq!(
        (answer.status, answer.code()),
        (status, code),
        "{what}: {answer:?}"
    );
}

#[tokio::test]
async fn malformed_purchases_are_400_and_buy_nothing() {
    let shop = EdgeShop::start(1).await;
    shop.open_activity(1, 5, 5).await;
    let alice = shop.shopper("alice");
    let bodies = [
        ("not JSON", "{\"quantity\": "),
        ("wrong type", r#"{"quantity": "one"}"#),
        ("missing field", "{}"),
        ("zero", r#"{"quantity": 0}"#),
        ("negative", r#"{"quantity": -1}"#),
        ("huge", r#"{"quantity": 1000000000000}"#),
        ("fraction", r#"{"quantity": 1.5}"#),
        ("a user id", r#"{"quantity": 1, "user_id": "bob"}"#),
        ("null", "null"),
        ("an array", "[1]"),
        ("a string", r#""quantity""#),
    ];
    for (what, body) in bodies {
        assert_refused(
            &post_raw(&shop, Some(&alice), body).await,
            400,
            "invalid_request",
            what,
        );
    }
    let good = shop.buy(&alice, 1, 1).await;
    assert_eq!(good.status, 200, "nothing above took a unit: {good:?}");
}

#[tokio::test]
async fn bad_tokens_are_401() {
    let shop = EdgeShop::start(1).await;
    shop.open_activity(1, 5, 1).await;
    let claims = json!({"sub": "alice", "role": "shopper", "iat": 1, "exp": 4_000_000_000_u64});
    let header = json!({"alg": "HS256", "typ": "JWT", "kid": "dev-1"});
    let expired = forged_jwt(
        &header,
        &json!({"sub": "alice", "role": "shopper", "iat": 1, "exp": 2}),
        Some(JWT_SECRET),
    );
    let tokens = [
        (
            "alg none",
            forged_jwt(&json!({"alg": "none", "typ": "JWT"}), &claims, None),
        ),
        (
            "wrong key",
            forged_jwt(
                &header,
                &claims,
                Some("another-secret-0123456789abcdef0123"),
            ),
        ),
        ("expired", expired),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (what, token) in &tokens {
        let answer = post_raw(&shop, Some(token), r#"{"quantity": 1}"#).await;
        assert_refused(&answer, 401, "unauthenticated", what);
    }
    let none = post_raw(&shop, None, r#"{"quantity": 1}"#).await;
    assert_refused(&none, 401, "unauthenticated", "no token");
}

#[tokio::test]
async fn oversized_bodies_unknown_routes_and_methods_are_json_4xx() {
    let shop = EdgeShop::start(1).await;
    let alice = shop.shopper("alice");
    let big = "x".repeat(2 * 1024 * 1024);
    let request = shop.request(Method::POST, PURCHASE, Some(&alice));
    let answer = send(request.header(CONTENT_TYPE, "application/json").body(big)).await;
    assert_refused(&answer, 413, "payload_too_large", "2 MiB body");

    for (method, path) in [
        (Method::GET, "/api/v1/nowhere"),
        (Method::GET, "/nowhere"),
        (Method::GET, "/api/v1/activities/abc/purchase"),
        (Method::POST, "/api/v1/activities/99999/purchase"),
        (Method::GET, "/api/v1/orders/%ff"),
        (Method::POST, "/api/v1/activities/%ff/purchase"),
        (Method::GET, "/api/v1/activities?limit=-1"),
    ] {
        let request = shop.request(method.clone(), path, Some(&alice));
        let answer = send(request.json(&json!({"quantity": 1}))).await;
        assert!(
            (400..500).contains(&answer.status) && !answer.code().is_empty(),
            "{method} {path}: {answer:?}"
        );
    }
    for method in [Method::DELETE, Method::PUT, Method::PATCH] {
        let answer = send(shop.request(method.clone(), PURCHASE, Some(&alice))).await;
        assert!(
            (400..500).contains(&answer.status) && !answer.code().is_empty(),
            "{method} {PURCHASE}: {answer:?}"
        );
    }
}
