//! What every service does: health, readiness, metrics, JSON errors, shutdown, exit codes.

sk_common::service_tests! {
    service: "sk-admin",
    run: sk_admin::run,
    port: 8083,
    closed_check: "mysql",
    bad_value: ("SK_MYSQL__URL", "not a url"),
}
