//! What every service does: health, readiness, metrics, JSON errors, shutdown, exit codes.

sk_common::service_tests! {
    service: "gateway",
    run: gateway::run,
    port: 8080,
    closed_check: "sk-app",
    bad_value: ("SK_UPSTREAMS__APP", "not a url"),
}
