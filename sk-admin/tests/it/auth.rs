//! The admin check (`auth::protect`) in front of a stand-in admin route: who gets through,
//! who gets 401 and who gets 403.

use axum::routing::get;
use axum::{Extension, Router};
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use secrecy::SecretString;
use serde_json::{Value, json};
use sk_admin::auth::protect;
use sk_common::domain::{Role, UserId};
use sk_common::jwt::{Claims, JwtKeys, JwtSettings, Validity};
use sk_common::testing::{TestServer, forged_jwt};

use crate::helpers::{admin_token, jwt_keys, serve_router, settings, token_for};

const PING: &str = "/admin/v1/ping";

/// Answers with the `sub` the admin check put in the request.
async fn whoami(Extension(claims): Extension<Claims>) -> String {
    claims.sub.to_string()
}

async fn protected_ping() -> TestServer {
    serve_router(protect(Router::new().route(PING, get(whoami)), jwt_keys())).await
}

/// GET the ping with `authorization` as the header value, if any.
async fn ping(server: &TestServer, authorization: Option<&str>) -> reqwest::Response {
    let mut request = server.client.get(server.url(PING));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    request.send().await.unwrap()
}

async fn assert_unauthenticated(server: &TestServer, authorization: Option<&str>, case: &str) {
    let response = ping(server, authorization).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{case}");
    assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer", "{case}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "unauthenticated", "{case}: {body}");
}

/// Keys like the configured ones, changed by `change`.
fn keys_with(change: impl FnOnce(&mut JwtSettings)) -> JwtKeys {
    let mut jwt = settings(&Vec::new()).jwt;
    change(&mut jwt);
    JwtKeys::new(&jwt).unwrap()
}

fn ops() -> UserId {
    UserId::parse("ops").unwrap()
}

#[tokio::test]
async fn an_admin_token_passes_and_the_handler_sees_who_acted() {
    let server = protected_ping().await;
    let response = ping(&server, Some(&format!("Bearer {}", admin_token()))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ops");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn no_token_is_401_with_a_bearer_challenge() {
    let server = protected_ping().await;
    assert_unauthenticated(&server, None, "no header").await;
    let basic = format!("Basic {}", admin_token());
    assert_unauthenticated(&server, Some(&basic), "another scheme").await;
    assert_unauthenticated(&server, Some("Bearer not-a-jwt"), "not a JWT").await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_shopper_token_is_403() {
    let server = protected_ping().await;
    let shopper = token_for("alice", Role::Shopper);
    let response = ping(&server, Some(&format!("Bearer {shopper}"))).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "forbidden", "{body}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn expired_forged_and_foreign_tokens_are_401() {
    let server = protected_ping().await;
    let keys = jwt_keys();
    let now = sk_common::time::now_ms() / 1_000;
    let expired = Validity {
        issued_at: now - 120,
        expires_at: now - 1,
    };
    let claims = json!({"sub": "ops", "role": "admin", "iat": now, "exp": now + 600});
    let cases = [
        ("expired", keys.sign(&ops(), Role::Admin, expired).unwrap()),
        (
            "wrong secret",
            keys_with(|jwt| jwt.secret = SecretString::from("not-the-key-of-sk-admin-000000000"))
                .mint(&ops(), Role::Admin, None)
                .unwrap(),
        ),
        (
            "alg none",
            forged_jwt(&json!({"alg": "none", "kid": "dev-1"}), &claims, None),
        ),
        (
            "unknown kid",
            keys_with(|jwt| jwt.kid = "retired-0".into())
                .mint(&ops(), Role::Admin, None)
                .unwrap(),
        ),
    ];
    for (case, token) in cases {
        assert_unauthenticated(&server, Some(&format!("Bearer {token}")), case).await;
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn paths_no_route_serves_are_still_404() {
    let server = protected_ping().await;
    let response = server
        .client
        .get(server.url("/admin/v1/nothing"))
        .send()
        .await;
    assert_eq!(response.unwrap().status(), StatusCode::NOT_FOUND);
    server.stop().await.unwrap();
}
