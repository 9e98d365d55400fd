use sk_common::testing::{
    BlackHole, Vars, closed_port, kafka_brokers, load_settings, redis_hangs, redis_url,
    unique_topics,
};

pub const BINARY: &str = env!("CARGO_BIN_EXE_sk-core");

pub fn settings(vars: &Vars) -> sk_core::Settings {
    load_settings(vars)
}

/// The local stack's Redis and broker, with topics of this test's own.
pub async fn base_vars() -> Vars {
    let (orders, dlq) = unique_topics().await;
    vec![
        ("SK_REDIS__URL", redis_url()),
        ("SK_KAFKA__BROKERS", kafka_brokers()),
        ("SK_KAFKA__ORDERS_TOPIC", orders),
        ("SK_KAFKA__DLQ_TOPIC", dlq),
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
