use sk_common::testing::{
    BlackHole, Vars, closed_port, kafka_brokers, load_settings, mysql_hangs, unique_mysql_url,
    unique_topics,
};

pub const BINARY: &str = env!("CARGO_BIN_EXE_order-consumer");

pub fn settings(vars: &Vars) -> order_consumer::Settings {
    load_settings(vars)
}

/// The local stack's broker with topics of this test's own, and a MySQL database of its own.
pub async fn base_vars() -> Vars {
    let (orders, dlq) = unique_topics().await;
    vec![
        ("SK_MYSQL__URL", unique_mysql_url()),
        ("SK_KAFKA__BROKERS", kafka_brokers()),
        ("SK_KAFKA__ORDERS_TOPIC", orders),
        ("SK_KAFKA__DLQ_TOPIC", dlq),
    ]
}

/// Kafka (required) points at a closed port.
pub async fn closed_vars() -> Vars {
    let mut vars = base_vars().await;
    vars.push(("SK_KAFKA__BROKERS", closed_port().to_string()));
    vars.push(("SK_KAFKA__REQUEST_TIMEOUT_MS", "500".into()));
    vars
}

/// MySQL hangs: every readiness probe stays in flight until its timeout.
pub async fn hole_vars(hole: &BlackHole) -> Vars {
    let mut vars = base_vars().await;
    vars.extend(mysql_hangs(hole));
    vars
}
