use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use secrecy::SecretString;
use serde_json::{Value, json};

use super::*;
use crate::settings::SettingsError;
use crate::testing::forged_jwt;

const SECRET: &str = "test-secret-of-at-least-32-characters-0001";
const OLD_SECRET: &str = "test-secret-of-at-least-32-characters-0000";

fn settings() -> JwtSettings {
    JwtSettings {
        kid: "k2".into(),
        secret: SecretString::from(SECRET),
        previous_keys: vec![PreviousKey {
            kid: "k1".into(),
            secret: SecretString::from(OLD_SECRET),
        }],
        default_ttl_secs: 3_600,
        max_ttl_secs: 86_400,
    }
}

fn keys() -> JwtKeys {
    JwtKeys::new(&settings()).unwrap()
}

fn keys_with(kid: &str, secret: &str) -> JwtKeys {
    JwtKeys::new(&JwtSettings {
        kid: kid.into(),
        secret: SecretString::from(secret),
        previous_keys: Vec::new(),
        ..settings()
    })
    .unwrap()
}

fn alice() -> UserId {
    UserId::parse("alice").unwrap()
}

fn now() -> u64 {
    crate::time::now_ms() / 1_000
}

/// Valid claims as JSON, to be spoiled one field at a time.
fn claims_json() -> Value {
    json!({"sub": "alice", "role": "shopper", "iat": now(), "exp": now() + 600})
}

fn hs256(kid: &str) -> Value {
    json!({"alg": "HS256", "typ": "JWT", "kid": kid})
}

fn without(mut claims: Value, field: &str) -> Value {
    claims.as_object_mut().unwrap().remove(field);
    claims
}

fn with(mut claims: Value, field: &str, value: Value) -> Value {
    claims[field] = value;
    claims
}

#[test]
fn a_minted_token_verifies_with_its_claims() {
    let keys = keys();
    let token = keys.mint(&alice(), Role::Admin, None).unwrap();
    let claims = keys.verify(&token).unwrap();
    assert_eq!(claims.sub, alice());
    assert_eq!(claims.role, Role::Admin);
    assert!(claims.iat.abs_diff(now()) <= 1);
    assert_eq!(claims.exp, claims.iat + 3_600);
}

#[test]
fn a_forged_token_in_our_format_verifies() {
    // Pins the wire format other implementations (and sk-bench) must produce.
    let token = forged_jwt(&hs256("k2"), &claims_json(), Some(SECRET));
    assert_eq!(keys().verify(&token).unwrap().sub, alice());
}

#[test]
fn previous_keys_verify_and_never_sign() {
    let rotated = keys();
    let before_rotation = keys_with("k1", OLD_SECRET);
    let old_token = before_rotation.mint(&alice(), Role::Shopper, None).unwrap();
    assert_eq!(rotated.verify(&old_token).unwrap().sub, alice());
    let new_token = rotated.mint(&alice(), Role::Shopper, None).unwrap();
    assert_eq!(
        before_rotation.verify(&new_token),
        Err(JwtError::UnknownKey)
    );
}

#[test]
fn alg_none_is_refused() {
    let header = json!({"alg": "none", "typ": "JWT", "kid": "k2"});
    let token = forged_jwt(&header, &claims_json(), None);
    assert_eq!(keys().verify(&token), Err(JwtError::UnsupportedAlgorithm));
}

#[test]
fn every_algorithm_but_hs256_is_refused() {
    for alg in ["HS384", "HS512", "RS256", "ES256", "EdDSA", "hs256"] {
        let header = json!({"alg": alg, "kid": "k2"});
        let token = forged_jwt(&header, &claims_json(), Some(SECRET));
        assert_eq!(
            keys().verify(&token),
            Err(JwtError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
}

#[test]
fn an_unknown_or_missing_kid_is_refused() {
    let token = keys_with("k9", SECRET)
        .mint(&alice(), Role::Admin, None)
        .unwrap();
    assert_eq!(keys().verify(&token), Err(JwtError::UnknownKey));
    let no_kid = forged_jwt(&json!({"alg": "HS256"}), &claims_json(), Some(SECRET));
    assert_eq!(keys().verify(&no_kid), Err(JwtError::UnknownKey));
}

#[test]
fn a_wrong_signature_is_refused() {
    let other_secret = keys_with("k2", "another-secret-of-at-least-32-characters");
    let token = other_secret.mint(&alice(), Role::Admin, None).unwrap();
    assert_eq!(keys().verify(&token), Err(JwtError::BadSignature));
}

#[test]
fn a_changed_payload_breaks_the_signature() {
    let keys = keys();
    let token = keys.mint(&alice(), Role::Shopper, None).unwrap();
    let mut parts: Vec<&str> = token.split('.').collect();
    let promoted = forged_jwt(
        &hs256("k2"),
        &with(claims_json(), "role", json!("admin")),
        None,
    );
    parts[1] = promoted.split('.').nth(1).unwrap();
    assert_eq!(keys.verify(&parts.join(".")), Err(JwtError::BadSignature));
}

#[test]
fn an_expired_token_is_refused() {
    let keys = keys();
    let past = Validity {
        issued_at: now() - 120,
        expires_at: now() - 1,
    };
    let token = keys.sign(&alice(), Role::Admin, past).unwrap();
    assert_eq!(keys.verify(&token), Err(JwtError::Expired));
}

#[test]
fn malformed_tokens_are_refused() {
    let keys = keys();
    let valid = keys.mint(&alice(), Role::Admin, None).unwrap();
    let too_long = format!("{valid}{}", "A".repeat(MAX_TOKEN_LEN));
    let bad_signature_encoding = format!("{valid}!");
    for token in [
        "",
        "garbage",
        "a.b",
        "!!!.e30.sig",
        "e30.e30.",
        &too_long,
        &bad_signature_encoding,
    ] {
        assert_eq!(keys.verify(token), Err(JwtError::Malformed), "{token:.40}");
    }
}

#[test]
fn missing_or_invalid_claims_are_refused() {
    let spoiled = [
        without(claims_json(), "sub"),
        without(claims_json(), "role"),
        without(claims_json(), "exp"),
        without(claims_json(), "iat"),
        with(claims_json(), "sub", json!("")),
        with(claims_json(), "sub", json!("has spaces")),
        with(claims_json(), "sub", json!(42)),
        with(claims_json(), "role", json!("root")),
        with(claims_json(), "exp", json!("tomorrow")),
    ];
    for claims in spoiled {
        let token = forged_jwt(&hs256("k2"), &claims, Some(SECRET));
        assert_eq!(
            keys().verify(&token),
            Err(JwtError::InvalidClaims),
            "{claims}"
        );
    }
}

#[test]
fn ttl_defaults_and_is_bounded() {
    let keys = keys();
    let validity = keys.validity(Some(Duration::from_secs(60))).unwrap();
    assert_eq!(validity.expires_at - validity.issued_at, 60);
    let default = keys.validity(None).unwrap();
    assert_eq!(default.expires_at - default.issued_at, 3_600);
    let too_long = Some(Duration::from_secs(86_401));
    for ttl in [
        Some(Duration::ZERO),
        Some(Duration::from_millis(999)),
        too_long,
    ] {
        assert_eq!(
            keys.mint(&alice(), Role::Admin, ttl),
            Err(MintError::InvalidTtl { max_secs: 86_400 })
        );
    }
}

fn authorization(value: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
    headers
}

#[test]
fn authenticate_reads_a_bearer_token() {
    let keys = keys();
    let token = keys.mint(&alice(), Role::Admin, None).unwrap();
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let headers = authorization(&format!("{scheme} {token}"));
        assert_eq!(keys.authenticate(&headers).unwrap().sub, alice());
    }
    assert_eq!(keys.authenticate(&HeaderMap::new()), Err(JwtError::Missing));
    assert_eq!(
        keys.authenticate(&authorization(&format!("Basic {token}"))),
        Err(JwtError::Missing)
    );
    assert_eq!(
        keys.authenticate(&authorization("Bearer ")),
        Err(JwtError::Malformed)
    );
}

fn invalid_key(settings: &JwtSettings) -> String {
    match settings.validate() {
        Err(SettingsError::Invalid { key, .. }) => key,
        other => panic!("expected an invalid key, got {other:?}"),
    }
}

#[test]
fn settings_refuse_short_secrets_bad_kids_and_bad_lifetimes() {
    let short = SecretString::from("too-short");
    let cases: Vec<(JwtSettings, &str)> = vec![
        (
            JwtSettings {
                secret: short.clone(),
                ..settings()
            },
            "jwt.secret",
        ),
        (
            JwtSettings {
                kid: "has space".into(),
                ..settings()
            },
            "jwt.kid",
        ),
        (
            JwtSettings {
                previous_keys: vec![PreviousKey {
                    kid: "k1".into(),
                    secret: short,
                }],
                ..settings()
            },
            "jwt.previous_keys",
        ),
        (
            JwtSettings {
                previous_keys: vec![PreviousKey {
                    kid: "k2".into(),
                    secret: SecretString::from(OLD_SECRET),
                }],
                ..settings()
            },
            "jwt.previous_keys",
        ),
        (
            JwtSettings {
                max_ttl_secs: 0,
                ..settings()
            },
            "jwt.max_ttl_secs",
        ),
        (
            JwtSettings {
                default_ttl_secs: 86_401,
                ..settings()
            },
            "jwt.default_ttl_secs",
        ),
    ];
    for (settings, key) in cases {
        assert_eq!(invalid_key(&settings), key);
        assert!(JwtKeys::new(&settings).is_err(), "{key}");
    }
}

#[test]
fn previous_keys_load_from_one_variable_and_errors_hide_secrets() {
    #[derive(Debug, serde::Deserialize)]
    struct Section {
        jwt: JwtSettings,
    }
    let load = |previous: &str| {
        config::Config::builder()
            .set_override("jwt.kid", "k2")?
            .set_override("jwt.secret", SECRET)?
            .set_override("jwt.default_ttl_secs", 60)?
            .set_override("jwt.max_ttl_secs", 60)?
            .set_override("jwt.previous_keys", previous)?
            .build()?
            .try_deserialize::<Section>()
    };
    let loaded = load(&format!("k1:{OLD_SECRET}, k0:{SECRET}:with-colon")).unwrap();
    let kids: Vec<&str> = loaded
        .jwt
        .previous_keys
        .iter()
        .map(|k| k.kid.as_str())
        .collect();
    assert_eq!(kids, ["k1", "k0"]);
    assert_eq!(
        loaded.jwt.previous_keys[1].secret.expose_secret(),
        format!("{SECRET}:with-colon")
    );
    let error = load(OLD_SECRET).unwrap_err().to_string();
    assert!(!error.contains(OLD_SECRET), "{error}");
}

#[test]
fn secrets_never_show_in_debug_output() {
    let settings = settings();
    let shown = format!("{settings:?} {:?}", JwtKeys::new(&settings).unwrap());
    assert!(
        !shown.contains(SECRET) && !shown.contains(OLD_SECRET),
        "{shown}"
    );
    assert!(shown.contains("k1") && shown.contains("k2"), "{shown}");
}

#[test]
fn dev_secrets_are_recognised() {
    assert!(!settings().uses_dev_secret());
    let dev = JwtSettings {
        secret: SecretString::from("dev-only-jwt-secret-change-me-00000000000"),
        ..settings()
    };
    assert!(dev.uses_dev_secret());
}
