mod core_client;
mod sale;

use sk_common::testing::{
    BlackHole, Vars, closed_port, kafka_brokers, load_settings, redis_hangs, redis_url,
    unique_topics,
};

pub use core_client::{Core, Signature};
pub use sale::Sale;
pub use sk_common::testing::open_activity;

pub const BINARY: &str = env!("CARGO_BIN_EXE_sk-core");

/// Secrets of the tests' own (the development defaults would log a warning).
pub const INTERNAL_SECRET: &str = "test-internal-secret-0123456789abcdef";
pub const TOKEN_SECRET: &str = "test-purchase-token-secret-0123456789";

pub fn settings(vars: &Vars) -> sk_core::Settings {
    load_settings(vars)
}

/// The local stack's Redis and broker, with topics of this test's own.
pub async fn base_vars() -> Vars {
    let (orders, dlq) = unique_topics().await;
    vec![
        ("SK_REDIS__URL", redis_url()),
        ("SK_REDIS__KEY_PREFIX", sk_common::testing::unique("skt")),
        ("SK_KAFKA__BROKERS", kafka_brokers()),
        ("SK_KAFKA__ORDERS_TOPIC", orders),
        ("SK_KAFKA__DLQ_TOPIC", dlq),
        ("SK_SECURITY__INTERNAL_SECRET", INTERNAL_SECRET.into()),
        ("SK_SECURITY__PURCHASE_TOKEN_SECRET", TOKEN_SECRET.into()),
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
