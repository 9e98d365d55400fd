//! What every service does: health, readiness, metrics, JSON errors, shutdown, exit codes.

sk_common::service_tests! {
    service: "sk-app",
    run: sk_app::run,
    port: 8081,
    closed_check: "redis",
    bad_value: ("SK_REDIS__URL", "not a url"),
}
