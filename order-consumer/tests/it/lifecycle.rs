//! What every service does: health, readiness, metrics, JSON errors, shutdown, exit codes.

sk_common::service_tests! {
    service: "order-consumer",
    run: order_consumer::run,
    port: 8084,
    closed_check: "kafka",
    bad_value: ("SK_MYSQL__URL", "not a url"),
}
