//! What every service does: health, readiness, metrics, JSON errors, shutdown, exit codes.

sk_common::service_tests! {
    service: "sk-core",
    run: sk_core::run,
    port: 8082,
    closed_check: "redis",
    bad_value: ("SK_REDIS__URL", "not a url"),
}
