//! Admin authentication: every `/admin/v1` route needs `Authorization: Bearer <JWT>` with
//! `role=admin` (but `GET /admin/v1/openapi.json`, merged outside [`protect`]).
//!
//! No, malformed, unverifiable or expired token → 401 `unauthenticated` (with
//! `WWW-Authenticate: Bearer`); a valid token of another role → 403 `forbidden`. A request that
//! passes carries the verified [`Claims`] in its extensions, so handlers can tell who acted
//! (`Extension<Claims>`). Tokens are never logged.

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use sk_common::domain::Role;
use sk_common::jwt::{Claims, JwtKeys};

use crate::{Error, Result};

/// `router` with every route it has so far behind the admin check (add routes first, then
/// protect them). Paths no route serves still answer 404 without a token; a wrong method on a
/// protected path needs a token before it learns 405.
pub fn protect(router: Router, keys: JwtKeys) -> Router {
    if !router.has_routes() {
        // `route_layer` on a router without routes is a programming error in axum (a panic).
        return router;
    }
    router.route_layer(middleware::from_fn_with_state(keys, require_admin))
}

async fn require_admin(
    State(keys): State<JwtKeys>,
    mut request: Request,
    next: Next,
) -> Result<Response> {
    let claims = admin_claims(&keys, &request)?;
    request.extensions_mut().insert(claims);
    Ok(next.run(request).await)
}

fn admin_claims(keys: &JwtKeys, request: &Request) -> Result<Claims> {
    let claims = keys.authenticate(request.headers())?;
    if claims.role == Role::Admin {
        Ok(claims)
    } else {
        Err(Error::Forbidden)
    }
}
