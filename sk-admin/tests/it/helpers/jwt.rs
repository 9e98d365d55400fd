//! Tokens signed with the `[jwt]` key of sk-admin's default settings, and serving a bare
//! router (the admin check in front of stand-in routes).

use axum::Router;
use sk_common::domain::{Role, UserId};
use sk_common::jwt::JwtKeys;
use sk_common::testing::TestServer;

/// The keys sk-admin signs and verifies with under its default settings.
pub fn jwt_keys() -> JwtKeys {
    JwtKeys::new(&super::settings(&Vec::new()).jwt).unwrap()
}

/// A token for `sub` as `role` from the default key.
pub fn token_for(sub: &str, role: Role) -> String {
    jwt_keys()
        .mint(&UserId::parse(sub).unwrap(), role, None)
        .unwrap()
}

/// An admin token (`sub` = `ops`) from the default key.
pub fn admin_token() -> String {
    token_for("ops", Role::Admin)
}

/// Serves `router` in-process on a free port.
pub async fn serve_router(router: Router) -> TestServer {
    TestServer::spawn(router, |router, listener, shutdown| {
        sk_common::http::serve(
            listener,
            router,
            shutdown,
            std::time::Duration::from_secs(10),
        )
    })
    .await
}
