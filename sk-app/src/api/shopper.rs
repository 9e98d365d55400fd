//! Who is calling: the verified bearer token's `sub`. No, malformed, unverifiable or expired
//! token → 401 `unauthenticated`. Shoppers and admins may both buy, so the role is not checked.
//! Tokens are never logged.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sk_common::domain::UserId;

use super::Api;
use crate::Error;

/// The authenticated caller of a shopper route.
#[derive(Debug, Clone)]
pub struct Shopper(pub UserId);

impl FromRequestParts<Api> for Shopper {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, api: &Api) -> Result<Self, Self::Rejection> {
        let claims = api.keys.authenticate(&parts.headers)?;
        Ok(Self(claims.sub))
    }
}
