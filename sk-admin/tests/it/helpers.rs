mod admin_client;
mod jwt;
mod pipeline;

use sk_common::testing::{
    BlackHole, Vars, closed_port, load_settings, mysql_hangs, redis_url, unique_mysql_url,
};

pub const BINARY: &str = env!("CARGO_BIN_EXE_sk-admin");

pub fn settings(vars: &Vars) -> sk_admin::Settings {
    load_settings(vars)
}

/// The local stack's Redis and a MySQL database of this test's own.
pub async fn base_vars() -> Vars {
    vec![
        ("SK_MYSQL__URL", unique_mysql_url()),
        ("SK_REDIS__URL", redis_url()),
    ]
}

/// MySQL (required) points at a closed port.
pub async fn closed_vars() -> Vars {
    let mut vars = base_vars().await;
    vars.push((
        "SK_MYSQL__URL",
        format!("mysql://root@{}/sk", closed_port()),
    ));
    vars
}

/// MySQL hangs: every readiness probe stays in flight until its timeout.
pub async fn hole_vars(hole: &BlackHole) -> Vars {
    let mut vars = base_vars().await;
    vars.extend(mysql_hangs(hole));
    vars
}

pub use admin_client::{Admin, activity_body};
pub use jwt::{admin_token, jwt_keys, serve_router, token_for};
pub use pipeline::Pipeline;
