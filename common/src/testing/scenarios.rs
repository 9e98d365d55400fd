//! Behaviour every service must show, written once; each service's tests run these against
//! its own real `run` or binary.

use reqwest::StatusCode;
use serde_json::Value;

use super::{BlackHole, ServiceProcess, TestServer, eventually, run_to_exit};
use crate::service::EXIT_BAD_CONFIG;

/// `/healthz` answers 200 `{"status":"ok"}` whatever the dependencies do.
pub async fn healthz_answers(server: &TestServer) {
    let (status, body) = server.get_json("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

/// `/readyz` becomes 200 with every check passing (bounded wait: migrations may be running).
pub async fn becomes_ready(server: &TestServer) {
    eventually("/readyz to answer 200", || async {
        server.get_json("/readyz").await.0 == StatusCode::OK
    })
    .await;
    let (_, last) = server.get_json("/readyz").await;
    assert_eq!(last["status"], "ready");
    let checks = last["checks"].as_array().expect("checks listed");
    assert!(!checks.is_empty());
    for check in checks.iter().filter(|c| c["required"] == true) {
        assert_eq!(check["ok"], true, "{check}");
    }
}

/// `/readyz` answers 503 `not_ready` naming the failed `check` with a readable reason.
pub async fn not_ready_because_of(server: &TestServer, check: &str) {
    let (status, body) = server.get_json("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["code"], "not_ready");
    let message = body["message"].as_str().expect("a message");
    assert!(
        message.starts_with(&format!("{check}: ")),
        "message {message:?} should name {check}"
    );
    let failed = body["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["name"] == check))
        .expect("the failed check is listed");
    assert_eq!(failed["ok"], false);
    assert!(failed["error"].as_str().is_some_and(|e| !e.is_empty()));
}

/// Unknown routes and methods answer the JSON error contract, not an empty body.
pub async fn unknown_routes_answer_json(server: &TestServer) {
    let (status, body) = server.get_json("/no/such/route").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "not_found");
    let response = server
        .client
        .delete(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "method_not_allowed");
}

/// `/metrics` serves Prometheus text that counts the requests served.
pub async fn serves_metrics(server: &TestServer) {
    server.get_json("/healthz").await;
    let text = server.get_text("/metrics").await;
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains("route=\"/healthz\""), "{text}");
}

/// With a request in flight (its `/readyz` probe stuck on `hole`), the shutdown token stops
/// the service only after that request got its answer.
pub async fn shutdown_lets_inflight_finish(server: TestServer, hole: &BlackHole) {
    let inflight = tokio::spawn(server.client.get(server.url("/readyz")).send());
    eventually("the probe to reach the stuck dependency", || async {
        hole.accepted() > 0
    })
    .await;
    server.shutdown();
    let response = inflight.await.unwrap().expect("in-flight request answered");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    server.stop().await.expect("run returned Ok");
}

/// The binary, sent SIGTERM while a request is in flight, answers it and exits 0.
pub async fn sigterm_exits_zero(binary: &str, vars: &[(&str, String)], hole: &BlackHole) {
    let mut process = ServiceProcess::start(binary, vars);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = format!("http://{}", process.addr);
    // Background work (pools, schedulers) may reach the hole on its own at start-up: count
    // from the moment the service answers, so the wait below is for this request's probe.
    eventually("the service to listen", || async {
        client.get(format!("{base}/healthz")).send().await.is_ok()
    })
    .await;
    let before = hole.accepted();
    let inflight = tokio::spawn(client.get(format!("{base}/readyz")).send());
    eventually("the probe to reach the stuck dependency", || async {
        hole.accepted() > before
    })
    .await;
    process.terminate();
    let response = inflight.await.unwrap().expect("in-flight request answered");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let status = tokio::task::spawn_blocking(move || process.wait_exit())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "exit status {status}");
}

/// The binary refuses a bad `SK_` value with exit 64 and a message naming the variable.
pub fn bad_value_exits_64(binary: &str, var: &str, value: &str) {
    let (status, stderr) = run_to_exit(binary, &[(var, value)]);
    assert_eq!(status.code(), Some(i32::from(EXIT_BAD_CONFIG)), "{stderr}");
    assert!(stderr.contains(var), "stderr should name {var}: {stderr}");
}

/// Every key of `defaults` is documented under its `SK_` variable in the README's table for
/// `service` (regenerate the tables with `scripts/config-docs`).
pub fn settings_documented(service: &str, defaults: &str) {
    let readme = include_str!("../../../README.md");
    let heading = format!("#### {service} ");
    let table = readme
        .split_once(&heading)
        .map(|(_, rest)| rest.split("####").next().unwrap_or(rest))
        .unwrap_or_else(|| panic!("README.md has no configuration table for {service}"));
    let missing: Vec<String> = super::env_vars_of(defaults)
        .into_iter()
        .filter(|var| !table.contains(&format!("`{var}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md's {service} table lacks {missing:?}: run scripts/config-docs"
    );
}

/// The shared lifecycle and readiness tests of a service, as `#[test]` functions.
///
/// Expects a module `crate::helpers` in the calling test binary with `BINARY` (the service's
/// executable), `settings(&Vars)`, and async `base_vars()` (real dependencies),
/// `closed_vars()` (a required dependency on a closed port) and `hole_vars(&BlackHole)`
/// (a required dependency that never answers).
#[macro_export]
#[allow(
    clippy::crate_in_macro_def,
    reason = "`crate::helpers` is the calling test binary's"
)]
macro_rules! service_tests {
    (
        service: $service:literal,
        run: $run:path,
        port: $port:literal,
        closed_check: $check:literal,
        bad_value: ($var:literal, $value:literal) $(,)?
    ) => {
        use $crate::http::HttpSettings;
        use $crate::testing::{BlackHole, TestServer, scenarios};

        use crate::helpers::{BINARY, base_vars, closed_vars, hole_vars, settings};

        #[test]
        fn defaults_alone_load_and_listen_on_the_documented_port() {
            let defaults = settings(&Vec::new());
            let http: &HttpSettings = $crate::settings::ServiceSettings::http(&defaults);
            assert_eq!(http.listen.port(), $port);
        }

        #[test]
        fn every_setting_is_documented_in_the_readme() {
            scenarios::settings_documented($service, include_str!("../../defaults.toml"));
        }

        #[test]
        fn a_bad_value_exits_64_naming_the_variable() {
            scenarios::bad_value_exits_64(BINARY, "SK_HTTP__READINESS_TIMEOUT_MS", "soon");
            scenarios::bad_value_exits_64(BINARY, $var, $value);
        }

        #[tokio::test]
        async fn answers_health_metrics_and_unknown_routes() {
            let server = TestServer::spawn(settings(&base_vars().await), $run).await;
            scenarios::healthz_answers(&server).await;
            scenarios::serves_metrics(&server).await;
            scenarios::unknown_routes_answer_json(&server).await;
            server.stop().await.unwrap();
        }

        #[tokio::test]
        async fn ready_when_its_dependencies_answer() {
            let server = TestServer::spawn(settings(&base_vars().await), $run).await;
            scenarios::becomes_ready(&server).await;
            server.stop().await.unwrap();
        }

        #[tokio::test]
        async fn not_ready_when_a_required_dependency_is_closed() {
            let server = TestServer::spawn(settings(&closed_vars().await), $run).await;
            scenarios::not_ready_because_of(&server, $check).await;
            server.stop().await.unwrap();
        }

        #[tokio::test]
        async fn shutdown_token_lets_an_inflight_request_finish() {
            let hole = BlackHole::start().await;
            let server = TestServer::spawn(settings(&hole_vars(&hole).await), $run).await;
            scenarios::shutdown_lets_inflight_finish(server, &hole).await;
        }

        #[tokio::test]
        async fn sigterm_with_a_request_in_flight_exits_zero() {
            let hole = BlackHole::start().await;
            scenarios::sigterm_exits_zero(BINARY, &hole_vars(&hole).await, &hole).await;
        }
    };
}
