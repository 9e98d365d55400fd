//! Minting tokens: `POST /admin/v1/tokens` behind the admin check, and the `sk-admin token`
//! command run as the real binary. Every minted token is checked with `JwtKeys::verify`, the
//! check sk-app applies to shoppers.

use std::process::{Command, Output};

use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use sk_admin::auth::protect;
use sk_admin::tokens::routes;
use sk_common::domain::Role;
use sk_common::jwt::{Claims, JwtKeys};
use sk_common::testing::{TestServer, unique};
use sk_common::time::rfc3339_from_ms;

use crate::helpers::{BINARY, admin_token, jwt_keys, serve_router, settings};

async fn tokens_api() -> TestServer {
    serve_router(protect(routes(jwt_keys()), jwt_keys())).await
}

async fn mint(server: &TestServer, body: Value) -> (StatusCode, Value) {
    let response = server
        .client
        .post(server.url("/admin/v1/tokens"))
        .bearer_auth(admin_token())
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

/// The answer's `(user_id, claims)` pairs, every token verified.
fn verified(answer: &Value) -> Vec<(String, Claims)> {
    let keys = jwt_keys();
    answer["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|minted| {
            let claims = keys.verify(minted["token"].as_str().unwrap()).unwrap();
            (minted["user_id"].as_str().unwrap().to_owned(), claims)
        })
        .collect()
}

#[tokio::test]
async fn a_list_of_users_gets_shopper_tokens_that_verify() {
    let server = tokens_api().await;
    let (status, answer) = mint(&server, json!({"user_ids": ["alice", "bob"]})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let minted = verified(&answer);
    assert_eq!(minted.len(), 2);
    for ((user_id, claims), expected) in minted.iter().zip(["alice", "bob"]) {
        assert_eq!(user_id, expected);
        assert_eq!(claims.sub.as_str(), expected);
        assert_eq!(claims.role, Role::Shopper);
        assert_eq!(claims.exp - claims.iat, 3_600, "the default ttl");
        assert_eq!(answer["expires_at"], rfc3339_from_ms(claims.exp * 1_000));
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_run_of_users_gets_tokens_with_the_role_and_ttl_asked() {
    let server = tokens_api().await;
    let body = json!({"first_user_id": "load-0098", "count": 3, "role": "admin", "ttl_secs": 60});
    let (status, answer) = mint(&server, body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let minted = verified(&answer);
    let users: Vec<&str> = minted.iter().map(|(user, _)| user.as_str()).collect();
    assert_eq!(users, ["load-0098", "load-0099", "load-0100"]);
    assert!(
        minted
            .iter()
            .all(|(_, c)| c.role == Role::Admin && c.exp - c.iat == 60)
    );

    let (status, answer) = mint(&server, json!({"first_user_id": 7, "count": 2})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let users: Vec<String> = verified(&answer).into_iter().map(|(u, _)| u).collect();
    assert_eq!(users, ["7", "8"]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn bad_input_is_400_naming_the_field() {
    let server = tokens_api().await;
    let cases = [
        (json!({"first_user_id": 1, "count": 0}), "count"),
        (json!({"first_user_id": 1, "count": 100_001}), "count"),
        (json!({"first_user_id": 1}), "count"),
        (json!({"count": 5}), "first_user_id"),
        (
            json!({"first_user_id": "load-", "count": 5}),
            "first_user_id",
        ),
        (
            json!({"first_user_id": "has space1", "count": 5}),
            "first_user_id",
        ),
        (json!({"user_ids": []}), "user_ids"),
        (json!({"user_ids": ["has space"]}), "user_ids"),
        (
            json!({"user_ids": ["a"], "first_user_id": 1, "count": 1}),
            "user_ids",
        ),
        (json!({}), "user_ids"),
        (json!({"user_ids": ["a"], "role": "root"}), "role"),
        (json!({"user_ids": ["a"], "ttl_secs": 0}), "ttl_secs"),
        (json!({"user_ids": ["a"], "ttl_secs": 86_401}), "ttl_secs"),
        (json!({"user_ids": ["a"], "ttl_secs": -5}), "ttl_secs"),
        (json!({"user_ids": ["a"], "users": ["b"]}), "users"),
    ];
    for (body, field) in cases {
        let (status, answer) = mint(&server, body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["code"], "invalid_request", "{body}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(
            message.contains(field),
            "{body}: {message} should name {field}"
        );
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn minting_needs_an_admin_token() {
    let server = tokens_api().await;
    let keys = jwt_keys();
    let shopper = keys
        .mint(&"alice".parse().unwrap(), Role::Shopper, None)
        .unwrap();
    let response = server
        .client
        .post(server.url("/admin/v1/tokens"))
        .bearer_auth(shopper)
        .json(&json!({"user_ids": ["alice"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    server.stop().await.unwrap();
}

/// Runs `sk-admin` with `args` and extra `vars`, to completion.
fn sk_admin(args: &[&str], vars: &[(&str, &str)]) -> Output {
    Command::new(BINARY)
        .args(args)
        .envs(vars.iter().copied())
        .output()
        .unwrap()
}

fn printed_token(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    let token = stdout.strip_suffix('\n').unwrap();
    assert!(
        !token.contains(char::is_whitespace),
        "one token alone: {stdout:?}"
    );
    token.to_owned()
}

#[test]
fn the_token_command_prints_an_admin_token_from_the_configured_key() {
    let output = sk_admin(&["token", "--role", "admin", "--sub", "ops"], &[]);
    let claims = jwt_keys().verify(&printed_token(&output)).unwrap();
    assert_eq!(claims.role, Role::Admin);
    assert_eq!(claims.sub.as_str(), "ops");
    assert_eq!(claims.exp - claims.iat, 3_600);
}

#[test]
fn the_token_command_reads_the_config_file_and_the_environment() {
    let path = std::env::temp_dir().join(format!("{}.toml", unique("sk_admin_token")));
    std::fs::write(&path, "[jwt]\nkid = \"from-file\"\nmax_ttl_secs = 600\n").unwrap();
    let secret = "secret-from-the-environment-0000000000";
    let output = sk_admin(
        &[
            "--config",
            path.to_str().unwrap(),
            "token",
            "--role",
            "shopper",
            "--sub",
            "u1",
        ],
        &[
            ("SK_JWT__SECRET", secret),
            ("SK_JWT__DEFAULT_TTL_SECS", "60"),
        ],
    );
    std::fs::remove_file(&path).unwrap();
    let token = printed_token(&output);
    assert!(jwt_keys().verify(&token).is_err(), "not the default key");
    let mut jwt = settings(&Vec::new()).jwt;
    jwt.kid = "from-file".into();
    jwt.secret = SecretString::from(secret);
    let claims = JwtKeys::new(&jwt).unwrap().verify(&token).unwrap();
    assert_eq!((claims.sub.as_str(), claims.role), ("u1", Role::Shopper));
    assert_eq!(claims.exp - claims.iat, 60);
}

#[test]
fn the_token_command_refuses_bad_arguments() {
    let zero_ttl = sk_admin(
        &[
            "token",
            "--role",
            "admin",
            "--sub",
            "ops",
            "--ttl-secs",
            "0",
        ],
        &[],
    );
    assert_eq!(zero_ttl.status.code(), Some(64));
    assert!(zero_ttl.stdout.is_empty());
    assert!(String::from_utf8_lossy(&zero_ttl.stderr).contains("ttl"));
    for args in [
        &["token", "--role", "root", "--sub", "ops"][..],
        &["token", "--role", "admin", "--sub", "has space"],
        &["token", "--role", "admin"],
        &["--check-config", "token", "--role", "admin", "--sub", "ops"],
    ] {
        let output = sk_admin(args, &[]);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    let bad_secret = sk_admin(
        &["token", "--role", "admin", "--sub", "ops"],
        &[("SK_JWT__SECRET", "short")],
    );
    assert_eq!(bad_secret.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&bad_secret.stderr).contains("SK_JWT__SECRET"));
}

#[test]
fn check_config_still_validates_and_exits() {
    assert!(sk_admin(&["--check-config"], &[]).status.success());
}
