//! `POST /admin/v1/tokens`: mints JWTs for load tests and integrations, signed with the
//! configured `[jwt]` key, so sk-app accepts them.
//!
//! The body names the users either as a list, `{"user_ids": ["u1", …]}`, or as a run,
//! `{"first_user_id": F, "count": N}`. `F` is a number (users `F`, `F+1`, … as decimal text) or
//! text ending in a number, whose prefix stays and whose number counts up keeping its width
//! (`"load-000001"` with count 100 gives `load-000001` … `load-000100`; `"u9"` gives `u9`, `u10`).
//! Optional: `ttl_secs` (default `jwt.default_ttl_secs`, at most `jwt.max_ttl_secs`) and `role`
//! (`shopper`, the default, or `admin`).
//!
//! Answer: 200 `{"tokens": [{"user_id", "token"}, …], "expires_at": RFC 3339}` in the order
//! asked; every token of one answer expires at the same second. Bad input: 400
//! `invalid_request` whose message names the field.

use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::{Extension, Router};
use serde::{Deserialize, Serialize};
use sk_common::domain::{Role, UserId};
use sk_common::http::Json;
use sk_common::jwt::{Claims, JwtKeys, MintError, Validity};
use sk_common::time::rfc3339_from_ms;

use crate::{Error, Result};

/// Most tokens one request may mint: a load test of the size the design plans for (100,000
/// shoppers) in one call, while one answer stays near 23 MB and a quarter of a second of
/// signing (release build).
pub const MAX_TOKENS: u64 = 100_000;

/// The route, unprotected: put it behind [`crate::auth::protect`].
pub fn routes(keys: JwtKeys) -> Router {
    Router::new()
        .route("/admin/v1/tokens", post(mint_tokens))
        .with_state(keys)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MintRequest {
    user_ids: Option<Vec<UserId>>,
    first_user_id: Option<FirstUserId>,
    count: Option<u64>,
    ttl_secs: Option<u64>,
    role: Option<Role>,
}

/// The first user of a run: a number, or text ending in one.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FirstUserId {
    Number(u64),
    Text(String),
}

#[derive(Debug, Serialize)]
struct MintResponse {
    tokens: Vec<MintedToken>,
    expires_at: String,
}

#[derive(Debug, Serialize)]
struct MintedToken {
    user_id: UserId,
    token: String,
}

async fn mint_tokens(
    State(keys): State<JwtKeys>,
    admin: Option<Extension<Claims>>,
    Json(request): Json<MintRequest>,
) -> Result<Json<MintResponse>> {
    let role = request.role.unwrap_or(Role::Shopper);
    let validity = keys
        .validity(request.ttl_secs.map(Duration::from_secs))
        .map_err(|e| Error::invalid("ttl_secs", e.to_string()))?;
    let user_ids = user_ids(request.user_ids, request.first_user_id, request.count)?;
    let count = user_ids.len();
    // Signing a hundred thousand tokens takes long enough to stall the other requests of this
    // runtime thread.
    let tokens = tokio::task::spawn_blocking(move || sign_all(&keys, user_ids, role, validity))
        .await
        .map_err(|e| MintError::Signing(format!("the signing task failed: {e}")))??;
    let expires_at = rfc3339_from_ms(validity.expires_at.saturating_mul(1_000));
    let by = admin.as_ref().map(|Extension(claims)| claims.sub.as_str());
    tracing::info!(by, count, %role, %expires_at, "minted tokens");
    Ok(Json(MintResponse { tokens, expires_at }))
}

/// The users to mint for: exactly one of the list or the run.
fn user_ids(
    list: Option<Vec<UserId>>,
    first: Option<FirstUserId>,
    count: Option<u64>,
) -> Result<Vec<UserId>> {
    match (list, first, count) {
        (Some(list), None, None) => checked_list(list),
        (None, Some(first), Some(count)) => run_of_ids(&first, count),
        (None, Some(_), None) => Err(Error::invalid("count", "is required with first_user_id")),
        (None, None, Some(_)) => Err(Error::invalid("first_user_id", "is required with count")),
        (None, None, None) => Err(Error::invalid(
            "user_ids",
            "give user_ids, or first_user_id and count",
        )),
        (Some(_), _, _) => Err(Error::invalid(
            "user_ids",
            "give user_ids or first_user_id and count, not both",
        )),
    }
}

fn checked_list(list: Vec<UserId>) -> Result<Vec<UserId>> {
    if list.is_empty() || list.len() as u64 > MAX_TOKENS {
        return Err(Error::invalid(
            "user_ids",
            format!("must hold 1 to {MAX_TOKENS} user ids"),
        ));
    }
    Ok(list)
}

fn run_of_ids(first: &FirstUserId, count: u64) -> Result<Vec<UserId>> {
    if !(1..=MAX_TOKENS).contains(&count) {
        return Err(Error::invalid(
            "count",
            format!("must be between 1 and {MAX_TOKENS}"),
        ));
    }
    let (prefix, start, width) = match first {
        FirstUserId::Number(number) => ("", *number, 0),
        FirstUserId::Text(text) => split_number(text).ok_or_else(|| {
            Error::invalid(
                "first_user_id",
                "must be a number or text ending in a number, e.g. load-000001",
            )
        })?,
    };
    let last = start
        .checked_add(count - 1)
        .ok_or_else(|| Error::invalid("count", "runs past the largest number"))?;
    (start..=last)
        .map(|n| {
            UserId::parse(&format!("{prefix}{n:0width$}"))
                .map_err(|e| Error::invalid("first_user_id", e.to_string()))
        })
        .collect()
}

/// `load-000042` → (`load-`, 42, 6): the prefix, the trailing number and its width.
fn split_number(text: &str) -> Option<(&str, u64, usize)> {
    let width = text.bytes().rev().take_while(u8::is_ascii_digit).count();
    // The digits are ASCII, so this index is a character boundary.
    let (prefix, digits) = text.split_at(text.len() - width);
    Some((prefix, digits.parse().ok()?, width))
}

fn sign_all(
    keys: &JwtKeys,
    user_ids: Vec<UserId>,
    role: Role,
    validity: Validity,
) -> Result<Vec<MintedToken>, MintError> {
    user_ids
        .into_iter()
        .map(|user_id| {
            let token = keys.sign(&user_id, role, validity)?;
            Ok(MintedToken { user_id, token })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(first: FirstUserId, count: u64) -> Vec<String> {
        run_of_ids(&first, count)
            .unwrap()
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn runs_keep_the_prefix_and_the_width() {
        let text = |s: &str| FirstUserId::Text(s.to_owned());
        assert_eq!(ids(FirstUserId::Number(7), 3), ["7", "8", "9"]);
        assert_eq!(
            ids(text("load-000098"), 3),
            ["load-000098", "load-000099", "load-000100"]
        );
        assert_eq!(ids(text("u9"), 2), ["u9", "u10"]);
        assert_eq!(ids(text("42"), 1), ["42"]);
    }

    #[test]
    fn runs_refuse_text_without_a_number_and_overflow() {
        for first in ["load-", "", "a b1", "1x"] {
            let error = run_of_ids(&FirstUserId::Text(first.into()), 1).unwrap_err();
            assert!(
                error.to_string().contains("first_user_id"),
                "{first}: {error}"
            );
        }
        let error = run_of_ids(&FirstUserId::Number(u64::MAX), 2).unwrap_err();
        assert!(error.to_string().contains("count"), "{error}");
    }
}
