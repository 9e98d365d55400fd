use sk_common::testing::{BlackHole, TestServer, scenarios};

use crate::helpers::{BINARY, base_vars, hole_vars, settings};

#[test]
fn defaults_alone_load_and_listen_on_the_documented_port() {
    let settings: order_consumer::Settings = sk_common::testing::load_settings(&[]);
    assert_eq!(settings.http.listen.port(), 8084);
}

#[test]
fn every_setting_is_documented_in_the_readme() {
    scenarios::settings_documented("order-consumer", include_str!("../../defaults.toml"));
}

#[test]
fn a_bad_value_exits_64_naming_the_variable() {
    scenarios::bad_value_exits_64(BINARY, "SK_HTTP__READINESS_TIMEOUT_MS", "soon");
    scenarios::bad_value_exits_64(BINARY, "SK_MYSQL__URL", "not a url");
}

#[tokio::test]
async fn answers_health_metrics_and_unknown_routes() {
    let server = TestServer::spawn(settings(&base_vars().await), order_consumer::run).await;
    scenarios::healthz_answers(&server).await;
    scenarios::serves_metrics(&server).await;
    scenarios::unknown_routes_answer_json(&server).await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_token_lets_an_inflight_request_finish() {
    let hole = BlackHole::start().await;
    let server = TestServer::spawn(settings(&hole_vars(&hole).await), order_consumer::run).await;
    scenarios::shutdown_lets_inflight_finish(server, &hole).await;
}

#[tokio::test]
async fn sigterm_with_a_request_in_flight_exits_zero() {
    let hole = BlackHole::start().await;
    scenarios::sigterm_exits_zero(BINARY, &hole_vars(&hole).await, &hole).await;
}
