mod admin;
mod core_counter;
mod shop;
mod window;

use sk_common::testing::{BlackHole, Vars, closed_port, load_settings, redis_hangs, redis_url};

pub const BINARY: &str = env!("CARGO_BIN_EXE_sk-app");

pub fn settings(vars: &Vars) -> sk_app::Settings {
    load_settings(vars)
}

/// The local stack's Redis; sk-core (observed, not required) is not running.
pub async fn base_vars() -> Vars {
    vec![
        ("SK_REDIS__URL", redis_url()),
        ("SK_CORE__URL", format!("http://{}", closed_port())),
    ]
}

/// Redis (required) points at a closed port.
pub async fn closed_vars() -> Vars {
    let mut vars = base_vars().await;
    vars.push(("SK_REDIS__URL", format!("redis://{}", closed_port())));
    vars
}

/// Redis hangs: every readiness probe stays in flight until its timeout.
pub async fn hole_vars(hole: &BlackHole) -> Vars {
    let mut vars = base_vars().await;
    vars.extend(redis_hangs(hole));
    vars
}

pub use admin::Admin;
pub use core_counter::CoreCounter;
pub use shop::{Answer, Shop};
pub use window::{Sale, Window};
